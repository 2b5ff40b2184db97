# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# `lab down`: idempotent, and complete also after `up` died half-way.
# It trusts two records written *before* each thing was made (created, procs)
# and sweeps behind them: any process inside a lab namespace or cgroup, any
# namespace named <prefix>-*. Processes are killed by recorded PID (checked
# against their start time), by cgroup (cgroup.kill) or by namespace
# (`ip netns pids`), never by name.

# TERM, then KILL after a bounded wait, the given pids.
kill_pids() {
	local pid left i
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		left=()
		for pid in "$@"; do
			[ -e "/proc/$pid" ] && [ "$(proc_stat "$pid" | cut -d' ' -f1)" != Z ] &&
				left+=("$pid")
		done
		[ ${#left[@]} -eq 0 ] && return 0
		sleep 0.02
	done
	kill -KILL "${left[@]}" 2>/dev/null
	return 0
}

down_recorded_procs() {
	local pid st role pids=() groups=()
	[ -f "$LAB_PROCS" ] || return 0
	while read -r pid st role; do
		proc_alive "$pid" "$st" || continue
		case $role in
		scenario:*)
			# a background scenario leads its own session: stop the group
			if [ "$(awk '{ sub(/.*\) /, ""); print $3 }' "/proc/$pid/stat" 2>/dev/null)" = "$pid" ]; then
				groups+=("-$pid")
			fi
			pids+=("$pid")
			;;
		*) pids+=("$pid") ;;
		esac
	done <"$LAB_PROCS"
	[ ${#groups[@]} -eq 0 ] || kill -TERM -- "${groups[@]}" 2>/dev/null
	kill_pids "${pids[@]}"
}

# Every namespace of this lab: recorded ones and any <prefix>-* left over.
down_netns_list() {
	{
		[ -f "$LAB_CREATED" ] && awk '$1 == "netns" { print $2 }' "$LAB_CREATED"
		ip netns list 2>/dev/null | awk -v p="$LAB_PREFIX-" 'index($1, p) == 1 { print $1 }'
	} | sort -u
}

down_netns_procs() {
	local ns pids=()
	for ns in $(down_netns_list); do
		[ -e "/run/netns/$ns" ] || continue
		mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
	done
	kill_pids "${pids[@]}"
}

down_cgroups() {
	local cg i cgs=()
	[ -f "$LAB_CREATED" ] || return 0
	mapfile -t cgs < <(awk '$1 == "cgroup" { print $2 }' "$LAB_CREATED" | tac)
	for cg in "${cgs[@]}"; do
		[ -d "$cg" ] || continue
		# kills every process in the cgroup and below, forks included
		[ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill" 2>/dev/null
	done
	for cg in "${cgs[@]}"; do
		# deepest first (reverse creation order); a parent we did not create
		# is never in the list, one still used by someone else stays (EBUSY)
		for ((i = 0; i < 100; i++)); do
			[ -d "$cg" ] || break
			rmdir "$cg" 2>/dev/null && break
			[ -z "$(find "$cg" -mindepth 1 -maxdepth 1 -type d -print -quit)" ] ||
				break # a child we do not own
			sleep 0.02
		done
	done
}

down_netns() {
	local ns
	for ns in $(down_netns_list); do
		[ -e "/run/netns/$ns" ] || continue
		ip netns del "$ns" 2>/dev/null || log "failed to delete network namespace $ns"
	done
}

down_files() {
	local kind path
	[ -f "$LAB_CREATED" ] || return 0
	while read -r kind path; do
		case $kind in
		netns-mount)
			# undo what our first `ip netns add` did, if nobody uses it now
			if mountpoint -q "$path" 2>/dev/null &&
				[ -z "$(ls -A "$path" 2>/dev/null)" ]; then
				umount "$path" 2>/dev/null
				mountpoint -q "$path" 2>/dev/null && umount "$path" 2>/dev/null
			fi
			;;
		rundir) rmdir "$path" 2>/dev/null ;;
		esac
	done < <(tac "$LAB_CREATED")
}

lab_down() {
	[[ $LAB_STATE == /?* && $LAB_STATE != *..* ]] ||
		usage_err "invalid LAB_STATE: '$LAB_STATE' (an absolute path, not /)"
	state_init_paths
	if [ -f "$LAB_STATE/$LAB_MARK" ] && [ -f "$LAB_STATE/config" ]; then
		# shellcheck disable=SC1091
		. "$LAB_STATE/config"
	fi
	[ -n "${LAB_CG2:-}" ] || LAB_CG2=$(find_cg2)
	down_recorded_procs
	down_netns_procs
	down_cgroups
	down_netns
	down_files
	if [ -f "$LAB_STATE/$LAB_MARK" ]; then
		rm -rf --one-file-system "$LAB_STATE"
	elif [ -e "$LAB_STATE" ]; then
		log "not removing $LAB_STATE: not a lab state dir"
	fi
	return 0
}
