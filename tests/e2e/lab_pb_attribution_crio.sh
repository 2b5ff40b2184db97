#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lab_pb_attribution.sh (issue 4 in the lab) with the --runtime crio layout.
exec "$(dirname "$0")/lab_pb_attribution.sh" --runtime crio
