# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# The lab's settings, state directory and small helpers. Sourced by tools/lab/lab.
#
# Every setting is an environment variable (the `up` flags set the same ones).
# `up` writes the effective settings to $LAB_STATE/config; every later command
# (status, scenario, exec, down) reads them back from there, so it acts on the
# lab that is really up whatever its own environment says.

: "${LAB_STATE:=/run/portburn-lab}"	# state dir; the host root is $LAB_STATE/hostroot
: "${LAB_PREFIX:=pbl}"			# prefix of every network namespace
: "${LAB_PODS:=3}"			# plain pods (one "app" container each)
: "${LAB_MESH_PODS:=1}"			# pods with app + sidecar proxy
: "${LAB_NAMESPACE:=shop}"		# Kubernetes namespace of the plain pods
: "${LAB_MESH_NAMESPACE:=mesh}"		# ... and of the mesh pods
: "${LAB_CGROUP_DRIVER:=systemd}"	# systemd | cgroupfs
: "${LAB_RUNTIME:=containerd}"		# containerd | crio | docker
: "${LAB_QOS:=burstable}"		# burstable | besteffort | guaranteed | mixed
: "${LAB_CGROUP_PARENT:=}"		# nested root below the cgroup2 mount, e.g. kind.slice/node.scope
: "${LAB_PAUSE:=1}"			# 1: every pod gets a pause (sandbox) container
: "${LAB_POD_NET:=10.244.0}"		# pods' /24 (node .1, pods .10 and up)
: "${LAB_EXT_NET:=203.0.113}"		# node <-> external /24 (node .1, web .10, flaky .11)
: "${LAB_IPV6:=auto}"			# auto | 0 | 1: also fd00:10:244::/64 and 2001:db8:203::/64
: "${LAB_PORT_RANGE:=32768 60999}"	# every pod's ip_local_port_range at start
: "${LAB_SNAT_PORTS:=}"			# "LO-HI": MASQUERADE --to-ports (the node's SNAT budget)
: "${LAB_FLAKY_DROP:=30}"		# % of flaky upstream requests closed without an answer
: "${LAB_FLAKY_503:=10}"		# % answered 503
: "${LAB_SIDECAR_NAME:=istio-proxy}"	# sidecar container name
: "${LAB_SIDECAR_UID:=1337}"		# uid the proxy runs as, excluded from the capture
: "${LAB_SIDECAR_PORT:=15001}"		# proxy's capture port
: "${LAB_SIDECAR_RETRIES:=3}"		# proxy retries per request
: "${LAB_WAIT:=10}"			# seconds to wait for a server to listen
: "${LAB_CRASH_AFTER:=}"		# test hook: `up` kills itself (SIGKILL) after this step

LAB_CONFIG_VARS="LAB_PREFIX LAB_PODS LAB_MESH_PODS LAB_NAMESPACE LAB_MESH_NAMESPACE
LAB_CGROUP_DRIVER LAB_RUNTIME LAB_QOS LAB_CGROUP_PARENT LAB_PAUSE LAB_POD_NET LAB_EXT_NET
LAB_IPV6 LAB_PORT_RANGE LAB_SNAT_PORTS LAB_FLAKY_DROP LAB_FLAKY_503 LAB_SIDECAR_NAME
LAB_SIDECAR_UID LAB_SIDECAR_PORT LAB_SIDECAR_RETRIES LAB_CG2 LAB_LOADGEN"

LAB_MARK=.portburn-lab	# marks a directory as a lab state dir (down removes only those)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage_err() { log "$*"; exit 2; }

# Runs "$@"; on failure says what failed and exits 1.
must() {
	local out
	if ! out=$("$@" 2>&1); then
		die "failed to run '$*': ${out:-exit status $?}"
	fi
	[ -z "$out" ] || printf '%s\n' "$out"
}

# Polls "$@" every 20 ms until it succeeds or SECONDS_MAX pass. 0 or 1.
wait_for() { # seconds cmd...
	local deadline=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# Polls "$@" until it succeeds (0), PID dies or SECONDS pass (1).
wait_ready() { # seconds pid cmd...
	local secs=$1 pid=$2
	shift 2
	ready_or_dead() { "$@" || ! kill -0 "$pid" 2>/dev/null; }
	wait_for "$secs" ready_or_dead "$@" && "$@" >/dev/null 2>&1
}

# PID of the recorded process with ROLE (the latest one).
role_pid() { awk -v r="$1" '$3 == r { p = $1 } END { print p }' "$LAB_PROCS"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

check_config() {
	local v
	[[ $LAB_STATE == /?* && $LAB_STATE != *..* ]] ||
		usage_err "invalid LAB_STATE: '$LAB_STATE' (an absolute path, not /)"
	for v in LAB_PODS LAB_MESH_PODS LAB_FLAKY_DROP LAB_FLAKY_503 LAB_SIDECAR_UID \
		LAB_SIDECAR_PORT LAB_SIDECAR_RETRIES LAB_WAIT; do
		is_uint "${!v}" || usage_err "invalid $v: '${!v}' (expected a number)"
	done
	[ $((LAB_PODS + LAB_MESH_PODS)) -ge 1 ] && [ $((LAB_PODS + LAB_MESH_PODS)) -le 200 ] ||
		usage_err "LAB_PODS + LAB_MESH_PODS must be 1..200"
	[ $((LAB_FLAKY_DROP + LAB_FLAKY_503)) -le 100 ] ||
		usage_err "LAB_FLAKY_DROP + LAB_FLAKY_503 must be at most 100"
	case $LAB_CGROUP_DRIVER in systemd | cgroupfs) ;; *)
		usage_err "invalid LAB_CGROUP_DRIVER: '$LAB_CGROUP_DRIVER' (systemd or cgroupfs)" ;;
	esac
	case $LAB_RUNTIME in containerd | crio | docker) ;; *)
		usage_err "invalid LAB_RUNTIME: '$LAB_RUNTIME' (containerd, crio or docker)" ;;
	esac
	case $LAB_QOS in burstable | besteffort | guaranteed | mixed) ;; *)
		usage_err "invalid LAB_QOS: '$LAB_QOS' (burstable, besteffort, guaranteed or mixed)" ;;
	esac
	case $LAB_IPV6 in auto | 0 | 1) ;; *) usage_err "invalid LAB_IPV6: '$LAB_IPV6' (auto, 0 or 1)" ;; esac
	case $LAB_PAUSE in 0 | 1) ;; *) usage_err "invalid LAB_PAUSE: '$LAB_PAUSE' (0 or 1)" ;; esac
	[[ $LAB_PREFIX =~ ^[a-z][a-z0-9]{0,11}$ ]] ||
		usage_err "invalid LAB_PREFIX: '$LAB_PREFIX' (a-z0-9, 1..12 characters)"
	[[ $LAB_NAMESPACE =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
		usage_err "invalid LAB_NAMESPACE: '$LAB_NAMESPACE'"
	[[ $LAB_MESH_NAMESPACE =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
		usage_err "invalid LAB_MESH_NAMESPACE: '$LAB_MESH_NAMESPACE'"
	[[ $LAB_SIDECAR_NAME =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
		usage_err "invalid LAB_SIDECAR_NAME: '$LAB_SIDECAR_NAME'"
	[[ $LAB_POD_NET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		usage_err "invalid LAB_POD_NET: '$LAB_POD_NET' (three octets, e.g. 10.244.0)"
	[[ $LAB_EXT_NET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		usage_err "invalid LAB_EXT_NET: '$LAB_EXT_NET' (three octets, e.g. 203.0.113)"
	[[ $LAB_CGROUP_PARENT =~ ^([A-Za-z0-9_.:@-]+(/[A-Za-z0-9_.:@-]+)*)?$ && \
		! $LAB_CGROUP_PARENT =~ (^|/)\.\.?(/|$) ]] ||
		usage_err "invalid LAB_CGROUP_PARENT: '$LAB_CGROUP_PARENT' (relative path)"
	parse_range "$LAB_PORT_RANGE" >/dev/null || usage_err "invalid LAB_PORT_RANGE: '$LAB_PORT_RANGE'"
	if [ -n "$LAB_SNAT_PORTS" ]; then
		parse_range "${LAB_SNAT_PORTS/-/ }" >/dev/null ||
			usage_err "invalid LAB_SNAT_PORTS: '$LAB_SNAT_PORTS' (LO-HI)"
	fi
}

# "LO HI" (or "LO-HI") -> "LO HI" after checks. 1 if invalid.
parse_range() {
	local lo hi
	read -r lo hi <<<"${1/-/ }"
	is_uint "$lo" && is_uint "$hi" && [ "$lo" -ge 1 ] && [ "$hi" -le 65535 ] &&
		[ "$lo" -le "$hi" ] || return 1
	echo "$lo $hi"
}

# The cgroup2 mount point, from mountinfo (a hybrid host has it at .../unified).
find_cg2() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' \
		/proc/self/mountinfo
}

state_init_paths() {
	LAB_HOSTROOT=$LAB_STATE/hostroot
	LAB_CREATED=$LAB_STATE/created	# what exists because of us, in creation order
	LAB_PROCS=$LAB_STATE/procs	# pid starttime role
	LAB_PODS_TSV=$LAB_STATE/pods.tsv
	LAB_CTRS_TSV=$LAB_STATE/containers.tsv
}

load_config() {
	state_init_paths
	[ -f "$LAB_STATE/$LAB_MARK" ] && [ -f "$LAB_STATE/config" ] ||
		die "no lab is up at $LAB_STATE (run: lab up)"
	# shellcheck disable=SC1091
	. "$LAB_STATE/config"
}

save_config() {
	local v
	for v in $LAB_CONFIG_VARS; do
		printf '%s=%q\n' "$v" "${!v}"
	done >"$LAB_STATE/config"
}

# Write-ahead record: called *before* creating the thing, so `down` finds it even
# when `up` dies right after.
created() { printf '%s\n' "$*" >>"$LAB_CREATED"; }

# "STATE STARTTIME" of PID from /proc/PID/stat (fields 3 and 22; comm may hold
# spaces, so split after its closing parenthesis).
proc_stat() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "$1 ${20}"
}

record_proc() { # pid role
	local s st
	s=$(proc_stat "$1") || s="? 0"
	st=${s#* }
	printf '%s %s %s\n' "$1" "$st" "$2" >>"$LAB_PROCS"
}

# Is PID still the process we started (same start time) and not a zombie?
proc_alive() { # pid starttime
	local s
	s=$(proc_stat "$1") || return 1
	[ "${s#* }" = "$2" ] && [ "${s%% *}" != Z ]
}

crash_point() {
	if [ "$LAB_CRASH_AFTER" = "$1" ]; then
		log "crashing after '$1' (LAB_CRASH_AFTER)"
		kill -9 $$
	fi
}

# Deterministic identities: the same lab prefix and pod give the same UID and
# container IDs on every run, so logs and tests can refer to them.
hex_of() { printf '%s' "$1" | sha256sum | cut -c1-64; }
pod_uid() { # ns name
	local h
	h=$(hex_of "$LAB_PREFIX/pod/$1/$2")
	echo "${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"
}
container_id() { hex_of "$LAB_PREFIX/container/$1/$2/$3"; } # ns pod container
