# SPDX-License-Identifier: GPL-2.0-only
# Verdicts of the kernel-facing checks (used by checks.sh, run with jq -n -r).
# Inputs: $ev = portburn trace --json output, one item per line, each already
# parsed (a line that is not a JSON object arrives as {"__bad": LINE});
# $facts = what pbvm-conn did, one object per scenario; $mode = the hook mode
# portburn must be in. Output: one line per scenario,
# "NAME<TAB>PASS" or "NAME<TAB>FAIL<TAB>problem; problem; ...".

def num: if type == "string" then (tonumber? // .) else . end;

# The events of one scenario: its listener port (one per scenario) and its
# namespace or process. A misattributed event is still picked up by the other key.
def events_of($f):
	[$ev[] | select(type == "object" and has("type"))
	 | select((.dport | num) == $f.dport
		  and ((.netns | num) == $f.netns or (.pid | num) == $f.pid))];

def of_type($t): map(select(.type == $t));

def describe: "\(.type) \(.saddr):\(.sport)->\(.daddr):\(.dport) pid=\(.pid) comm=\(.comm) "
	+ "cgroup_id=\(.cgroup_id) netns=\(.netns)"
	+ (if has("errno") then " errno=\(.errno)" else "" end);

# Exactly one event per source port the helper got.
def exact_ports($f; $what):
	(map(.sport | num) | sort) as $got | ($f.sports | sort) as $want
	| if $got == $want then []
	  else ["\($what): source ports \($got | tostring), want exactly \($want | tostring)"] end;

# Owner recorded when the connection opened, carried to every later event.
def owner($f; $what):
	map(select((.pid | num) != $f.pid or .comm != $f.comm or (.netns | num) != $f.netns
		   or ($f.cgroup_id != null and (.cgroup_id | num) != $f.cgroup_id))
	    | "\($what) misattributed: \(describe); want pid=\($f.pid) comm=\($f.comm) "
	      + "cgroup_id=\($f.cgroup_id) netns=\($f.netns)");

def addrs($f; $what):
	map(select(.daddr != $f.daddr or .saddr != $f.daddr)
	    | "\($what) has wrong addresses: \(describe); want \($f.daddr) both ends");

def daddr($f; $what):
	map(select(.daddr != $f.daddr) | "\($what) has wrong daddr: \(describe)");

# fentry/kprobe mode: TIME_WAIT must come from tcp_time_wait itself. The event's
# "hook" names the path ("tcp_time_wait", or PB_HOOK_TIME_WAIT = 6).
def tw_hook($what):
	if $mode == "fentry" or $mode == "kprobe" then
		map(select((.hook | tostring | test("time_wait|^6$")) | not)
		    | "\($what) not from tcp_time_wait in \($mode) mode (hook=\(.hook // "missing"))")
	else [] end;

def errnos($want; $n; $what):
	if length != $n or any(.[]; .errno != $want) then
		["\($what): \(length) events with errno \(map(.errno) | unique | tostring), "
		 + "want \($n) with \($want)"]
	else [] end;

def durations($what):
	map(select((.duration_ns | num | type) != "number" or (.duration_ns | num) <= 0)
	    | "\($what) without a positive duration_ns: \(describe)");

# Client closes first: every client port ends in TIME_WAIT, entered while the
# server runs; a close event, if the tracer also emits one, keeps the owner.
def client_closes($f):
	events_of($f) as $e
	| ($e | of_type("connect")) as $c | ($e | of_type("time_wait")) as $t
	| ($e | of_type("close")) as $x
	| ($c | exact_ports($f; "connect")) + ($c | owner($f; "connect"))
	  + ($c | addrs($f; "connect"))
	  + ($t | exact_ports($f; "time_wait")) + ($t | owner($f; "time_wait"))
	  + ($t | addrs($f; "time_wait")) + ($t | tw_hook("time_wait"))
	  + ($x | owner($f; "close"));

# Server closes first: every client port is released (close, with its
# lifetime) and none is held in TIME_WAIT.
def server_closes($f):
	events_of($f) as $e
	| ($e | of_type("connect")) as $c | ($e | of_type("close")) as $x
	| ($e | of_type("time_wait")) as $t
	| ($c | exact_ports($f; "connect")) + ($c | owner($f; "connect"))
	  + ($c | addrs($f; "connect"))
	  + ($x | exact_ports($f; "close")) + ($x | owner($f; "close"))
	  + ($x | addrs($f; "close")) + ($x | durations("close"))
	  + ($t | map("time_wait on the side that did not close first: \(describe)"));

# ip_local_port_range of 10 ports, 15 attempts: 10 connect, 5 EADDRNOTAVAIL.
def exhaust($f):
	events_of($f) as $e
	| ($e | of_type("connect")) as $c | ($e | of_type("connect_failed")) as $k
	| ($c | exact_ports($f; "connect")) + ($c | owner($f; "connect"))
	  + ($k | errnos("EADDRNOTAVAIL"; $f.errors | length; "connect_failed"))
	  + ($k | owner($f; "connect_failed")) + ($k | daddr($f; "connect_failed"));

def refused($f):
	events_of($f) as $e
	| ($e | of_type("connect_failed")) as $k
	| ($k | errnos("ECONNREFUSED"; 1; "connect_failed"))
	  + ($k | owner($f; "connect_failed")) + ($k | daddr($f; "connect_failed"))
	  + ($e | of_type("connect") | owner($f; "connect"));

def verdict($name; $problems):
	if ($problems | length) == 0 then "\($name)\tPASS"
	else "\($name)\tFAIL\t\($problems | join("; "))" end;

def bad_lines:
	[$ev[] | select(type != "object" or has("__bad"))] as $b
	| if ($b | length) == 0 then [] else
		["stdout lines that are not JSON objects: \($b | length), first: "
		 + "\($b[0].__bad // $b[0] | tostring | .[0:120])"] end;

($facts[] | select(.scenario == "client_closes") | verdict(.name; client_closes(.))),
($facts[] | select(.scenario == "server_closes") | verdict(.name; server_closes(.))),
($facts[] | select(.scenario == "exhaust") | verdict(.name; exhaust(.))),
($facts[] | select(.scenario == "refused") | verdict(.name; refused(.))),
verdict("ndjson"; bad_lines)
