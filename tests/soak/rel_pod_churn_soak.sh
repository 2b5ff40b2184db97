#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Soak: issue 9's pod churn at the length the contract needs. 1000 pods (and a
# 100-pod warm-up) come and go while serve runs, then 11.5 minutes pass: the
# counters of the gone pods must have been dropped (METRICS.md keeps them 10
# minutes), the pods must be gone from /snapshot, and a second round of as
# many pods must reuse the memory the first one left (heap growth at most
# 1 kB per pod). tests/e2e/rel_pod_churn.sh runs the first part in
# `make test`. Exit 0 = pass; ~14 minutes.
# CHURN_PODS, SOAK_WAIT (seconds) override the size and the wait.
CHURN_PODS=${CHURN_PODS:-1000} SOAK_WAIT=${SOAK_WAIT:-690} \
	exec "$(dirname "$0")/../e2e/rel_pod_churn.sh"
