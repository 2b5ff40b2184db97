# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Real servers from Debian's packages: nginx in the external namespace (web and
# flaky upstream), haproxy as the mesh sidecar.

render() { # template output NAME=VALUE...
	local tpl=$1 out=$2 expr=() kv
	shift 2
	for kv in "$@"; do
		expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${expr[@]}" "$LAB_DIR/conf/$tpl" >"$out" || die "failed to render $tpl"
}

ext_dir() { echo "$LAB_STATE/ext"; }

ext_servers_up() {
	local d e pid w6="" f6=""
	d=$(ext_dir)
	e=$(ext_ns)
	mkdir -p "$d/tmp"
	if ipv6_on; then
		w6="listen [$(web_ip6)]:80 backlog=4096;"
		f6="listen [$(flaky_ip6)]:80 backlog=4096;"
	fi
	render nginx.conf.in "$d/nginx.conf" DIR="$d" WEB="$(web_ip)" FLAKY="$(flaky_ip)" \
		WEB6_LISTEN="$w6" FLAKY6_LISTEN="$f6" DROP="$LAB_FLAKY_DROP" ERR="$LAB_FLAKY_503"
	# The external servers are not pods: their own cgroup keeps them (and any
	# worker they fork) easy to find and to kill.
	cg_mkdir "$(ext_cgroup)"
	pid=$(spawn server:nginx "$(ext_cgroup)" "$e" "" "$d/nginx.out" \
		nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;')
	wait_ready "$LAB_WAIT" "$pid" listening "$e" 80 ||
		die "failed to start nginx in $e: $(tail -n 3 "$d/error.log" "$d/nginx.out" 2>/dev/null)"
}

ext_cgroup() { echo "/$LAB_PREFIX-external"; }

sidecar_dir() { echo "$LAB_STATE/pods/$1/$LAB_SIDECAR_NAME"; } # pod name

sidecar_up() { # pod-name netns cgroup log
	local d
	d=$(sidecar_dir "$1")
	mkdir -p "$d"
	chown "$LAB_SIDECAR_UID:$LAB_SIDECAR_UID" "$d"
	render haproxy-sidecar.cfg.in "$d/haproxy.cfg" DIR="$d" UID="$LAB_SIDECAR_UID" \
		RETRIES="$LAB_SIDECAR_RETRIES" PORT="$LAB_SIDECAR_PORT"
	spawn "container:$5" "$3" "$2" "$LAB_SIDECAR_UID" "$4" haproxy -db -f "$d/haproxy.cfg" >/dev/null
}

sidecar_wait() { # pod-name netns log pid
	wait_ready "$LAB_WAIT" "$4" listening "$2" "$LAB_SIDECAR_PORT" &&
		wait_ready "$LAB_WAIT" "$4" test -S "$(sidecar_dir "$1")/admin.sock" ||
		die "failed to start the sidecar of $1: $(tail -n 3 "$3" 2>/dev/null)"
}

# haproxy's own counters: `show stat` CSV from the admin socket.
sidecar_stat() { # pod-name
	echo "show stat" | socat -t 2 - "UNIX-CONNECT:$(sidecar_dir "$1")/admin.sock"
}

sidecar_clear() { # pod-name
	echo "clear counters all" | socat -t 2 - "UNIX-CONNECT:$(sidecar_dir "$1")/admin.sock" >/dev/null
}
