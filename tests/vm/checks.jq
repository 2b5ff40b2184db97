# SPDX-License-Identifier: GPL-2.0-only
# Verdicts of the kernel-facing checks (used by checks.sh, run with jq -n -R -r).
# Inputs: lines of portburn trace --json output (a line that is not JSON
# becomes {"__bad": LINE}); $facts = what pbvm-conn did, one object per
# scenario; $mode = the hook mode portburn must be in. Output: one line per
# scenario, "NAME<TAB>PASS" or "NAME<TAB>FAIL<TAB>problem; problem; ...".

[inputs | select(length > 0) | (fromjson? // {"__bad": .})] as $ev |

def num: if type == "string" then (tonumber? // .) else . end;

# The events of one scenario: its listener port (one per scenario) and its
# namespace or process. A misattributed event is still picked up by the other key.
def events_of($f):
	[$ev[] | select(type == "object" and has("type"))
	 | select((.dport | num) == $f.dport
		  and ((.netns | num) == $f.netns or (.pid | num) == $f.pid))];

def of_type($t): map(select(.type == $t));

def hostport($a; $p): if ($a | tostring | test(":")) then "[\($a)]:\($p)" else "\($a):\($p)" end;
def describe: "\(.type) \(hostport(.saddr; .sport))->\(hostport(.daddr; .dport)) pid=\(.pid) comm=\(.comm) "
	+ "cgroup_id=\(.cgroup_id) netns=\(.netns)"
	+ (if has("errno") then " errno=\(.errno)" else "" end);

# Exactly one event per source port the helper got.
def exact_ports($f; $what):
	(map(.sport | num) | sort) as $got | ($f.sports | sort) as $want
	| if $got == $want then []
	  else ["\($what): source ports \($got | tostring), want exactly \($want | tostring)"] end;

# Input: the events that break a rule. Output: [] or one problem, with how
# many broke it and the first of them.
def problem($total; $rule):
	if length == 0 then []
	else ["\(length) of \($total) \($rule), e.g. \(.[0] | describe)"] end;

# Owner recorded when the connection opened, carried to every later event.
def owner($f; $what):
	length as $n
	| map(select((.pid | num) != $f.pid or .comm != $f.comm or (.netns | num) != $f.netns
		     or ($f.cgroup_id != null and (.cgroup_id | num) != $f.cgroup_id)))
	| problem($n; "\($what) misattributed (want pid=\($f.pid) comm=\($f.comm) "
		      + "cgroup_id=\($f.cgroup_id) netns=\($f.netns))");

def addrs($f; $what):
	length as $n | map(select(.daddr != $f.daddr or .saddr != $f.daddr))
	| problem($n; "\($what) with wrong addresses (want \($f.daddr) both ends)");

def daddr($f; $what):
	length as $n | map(select(.daddr != $f.daddr))
	| problem($n; "\($what) with wrong daddr (want \($f.daddr))");

# fentry/kprobe mode: TIME_WAIT must come from tcp_time_wait itself, port
# exhaustion from inet_hash_connect's return. The event's "hook" names the path
# that produced it (enum pb_hook: its name, or its number).
def from_hook($re; $fn; $what):
	if $mode == "fentry" or $mode == "kprobe" then
		length as $n | map(select((.hook | tostring | test($re)) | not))
		| problem($n; "\($what) not from \($fn) in \($mode) mode "
			      + "(hook=\(.[0].hook // "missing"))")
	else [] end;
def tw_hook($what): from_hook("time_wait|^6$"; "tcp_time_wait"; $what);
# EADDRNOTAVAIL from the return of inet_hash_connect (PB_HOOK_HASH_CONNECT = 4).
def hash_hook($what): from_hook("hash_connect|^4$"; "inet_hash_connect"; $what);

def errnos($want; $n; $what):
	if length != $n or any(.[]; .errno != $want) then
		["\($what): \(length) events with errno \(map(.errno) | unique | tostring), "
		 + "want \($n) with \($want)"]
	else [] end;

# TIME_WAIT holds the port for TCP_TIMEWAIT_LEN (60 s) on every kernel here; a
# wrong jiffies (CONFIG_HZ) conversion or the wrong argument shows up here.
def tw_length($what):
	length as $n
	| map(select((.time_wait_ns | num | type) != "number"
		     or (.time_wait_ns | num) < 59000000000 or (.time_wait_ns | num) > 61000000000))
	| problem($n; "\($what) without time_wait_ns of 60 s (got \(.[0].time_wait_ns))");

# The end of a connection carries the conn_id of its connect (when both have one).
def same_conn($c; $what):
	($c | map({key: (.sport | tostring), value: .conn_id}) | from_entries) as $ids
	| length as $n
	| map(select(.conn_id != null and $ids[.sport | tostring] != null
		     and .conn_id != $ids[.sport | tostring]))
	| problem($n; "\($what) with another conn_id than its connect");

def durations($what):
	length as $n
	| map(select((.duration_ns | num | type) != "number" or (.duration_ns | num) <= 0))
	| problem($n; "\($what) without a positive duration_ns");

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
	  + ($t | tw_length("time_wait")) + ($t | same_conn($c; "time_wait"))
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
	  + ($x | same_conn($c; "close"))
	  + ($t | problem($t | length; "time_wait on the side that did not close first"));

# ip_local_port_range of 10 ports, 15 attempts: 10 connect, 5 EADDRNOTAVAIL.
def exhaust($f):
	events_of($f) as $e
	| ($e | of_type("connect")) as $c | ($e | of_type("connect_failed")) as $k
	| ($c | exact_ports($f; "connect")) + ($c | owner($f; "connect"))
	  + ($k | errnos("EADDRNOTAVAIL"; $f.errors | length; "connect_failed"))
	  + ($k | owner($f; "connect_failed")) + ($k | daddr($f; "connect_failed"))
	  + ($k | hash_hook("connect_failed"));

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
