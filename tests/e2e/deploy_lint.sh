#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Lints deploy/: yamllint; promtool check + test of the rules; the PrometheusRule
# equals the rules file; the dashboard's JSON and PromQL; every metric and label
# used is in deploy/METRICS.md; the DaemonSet's privileges; the Dockerfile.
# Then each check is run on a copy of deploy/ broken the way it guards against,
# and must fail: a check that cannot fail is not a check.
# Needs: yamllint, promtool (Debian's prometheus), jq, python3 + python3-yaml,
# clang, binutils, dpkg (tools/install-deps.sh).
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d /tmp/portburn-deploy-lint.XXXXXX)
trap 'rm -rf "$T"' EXIT
PASSES=0 FAILS=0

for tool in yamllint promtool jq python3 clang readelf dpkg-query; do
	if ! command -v "$tool" >/dev/null; then
		echo "not ok - $tool is not installed (make deps)"
		exit 1
	fi
done
if ! python3 -c 'import yaml' 2>/dev/null; then
	echo "not ok - python3-yaml is not installed (make deps)"
	exit 1
fi

# The structural checks, in Python: `python3 $PY CHECK DEPLOY_DIR`.
PY=$T/checks.py
cat >"$PY" <<'PYEOF'
import json, os, re, subprocess, sys
import yaml

TOP = os.environ["TOP"]
errors = []

def err(msg):
    errors.append(msg)

def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

def walk(node, path=""):
    """Yield (path, key, value) for every mapping entry, recursively."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")

# ---------------------------------------------------------------- METRICS.md
def metrics_contract(d):
    """{name: set(labels)} for series and recording rules, and the target labels."""
    text = open(os.path.join(d, "METRICS.md")).read()
    metrics, target = {}, set()
    section = None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip().lower()
            continue
        m = re.match(r"^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|(.*)\|\s*$", line)
        if not m:
            continue
        name, rest = m.group(1), m.group(2).split("|")
        if section == "series":
            labels_col = rest[1]
        elif section == "recording rules":
            labels_col = rest[0]
        elif section and section.startswith("target labels"):
            target.add(name)
            continue
        else:
            continue
        metrics[name] = set(re.findall(r"`([a-z_]+)`", labels_col))
    return metrics, target

METRIC_RE = re.compile(r"(?<![\w:$])([a-zA-Z_]*:?portburn_[a-zA-Z0-9_]*(?::[a-zA-Z0-9_]+)?)")
GROUP_RE = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")

def selector_labels(expr, name):
    """Label names matched in every NAME{...} of EXPR."""
    out = set()
    for m in re.finditer(re.escape(name) + r"\s*\{([^}]*)\}", expr):
        out |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", m.group(1)))
    return out

def check_expr(where, expr, metrics, target, extra_labels=()):
    """Every portburn metric in EXPR is documented, every label it matches on,
    groups by or names in EXTRA_LABELS is one of theirs (or a target label).
    Returns the union of the labels of the metrics used."""
    used = set(METRIC_RE.findall(expr))
    if not used:
        err(f"{where}: uses no portburn metric: {expr!r}")
    known = set(target)
    for name in sorted(used):
        if name not in metrics:
            err(f"{where}: metric {name} is not in METRICS.md")
            continue
        known |= metrics[name]
        for label in selector_labels(expr, name):
            if label not in metrics[name] | target:
                err(f"{where}: {name} has no label {label!r} in METRICS.md")
    # A recording rule's name carries its labels; the metrics under it define them.
    for g in GROUP_RE.findall(expr):
        for label in (x.strip() for x in g.split(",")):
            if label and label not in known:
                err(f"{where}: groups by {label!r}, a label none of its metrics has")
    for label in extra_labels:
        if label not in known:
            err(f"{where}: uses label {label!r}, which none of its metrics has")
    return used

def rules_exprs(d):
    """(where, expr, labels used by templates) of every rule of the rules file."""
    doc = yaml.safe_load(open(os.path.join(d, "rules", "portburn.rules.yml")))
    for g in doc["groups"]:
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            tmpl = " ".join(str(v) for v in (r.get("annotations") or {}).values())
            labels = set(re.findall(r"\$labels\.([a-zA-Z_]\w*)", tmpl))
            yield f"rules {name}", r["expr"], labels, r

GRAFANA_VARS = [("$__rate_interval", "5m"), ("$__range", "1h"), ("$namespace", ".*"),
                ("$pod", ".*")]

def grafana_to_promql(expr):
    for var, value in GRAFANA_VARS:
        expr = expr.replace(var, value)
    if "$" in expr:
        err(f"dashboard: unknown variable in {expr!r}")
    return expr

def dashboard_exprs(d):
    dash = json.load(open(os.path.join(d, "grafana-dashboard.json")))
    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            legend = re.findall(r"\{\{\s*([a-zA-Z_]\w*)\s*\}\}", t.get("legendFormat", ""))
            yield f"dashboard panel {p.get('title')!r}", t["expr"], legend
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.match(r"label_values\((.*),\s*([a-zA-Z_]\w*)\)$", q)
            if not m:
                err(f"dashboard variable {v['name']}: not label_values(selector, label): {q!r}")
                continue
            yield f"dashboard variable {v['name']}", m.group(1), [m.group(2)]

def cmd_metrics(d):
    metrics, target = metrics_contract(d)
    series = {n for n in metrics if ":" not in n}
    if len(series) < 10:
        err(f"METRICS.md: only {len(series)} series found in its 'Series' table")
    for where, expr, labels, r in rules_exprs(d):
        check_expr(where, expr, metrics, target, labels)
        if "record" in r and r["record"] not in metrics:
            err(f"{where}: recording rule {r['record']} is not in METRICS.md")
    on_dashboard = set()
    for where, expr, labels in dashboard_exprs(d):
        on_dashboard |= check_expr(where, grafana_to_promql(expr), metrics, target, labels)
    for name in sorted(series - on_dashboard):
        err(f"dashboard: shows nothing of {name}")

def cmd_dashboard_rules(d, out):
    """Writes every dashboard query as a recording rule, for promtool to parse."""
    rules = [{"record": f"dashboard:query_{i}:check", "expr": grafana_to_promql(expr)}
             for i, (where, expr, _) in enumerate(dashboard_exprs(d)) if "panel" in where]
    with open(out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)

# ------------------------------------------------------------------ DaemonSet
def documented_caps(d):
    text = open(os.path.join(d, "README.md")).read()
    return set(re.findall(r"^\| `CAP_([A-Z_]+)` \|", text, re.M))

def cmd_daemonset(d):
    path = os.path.join(d, "daemonset.yaml")
    text = open(path).read()
    docs = load_all(path)
    for doc in docs:
        for p, k, v in walk(doc):
            if k == "privileged" and v is True:
                err(f"daemonset.yaml: privileged: true at {p}")
            if k == "allowPrivilegeEscalation" and v is not False:
                err(f"daemonset.yaml: allowPrivilegeEscalation: {v} at {p}")
    ds = [x for x in docs if x.get("kind") == "DaemonSet"]
    if len(ds) != 1:
        err(f"daemonset.yaml: {len(ds)} DaemonSets, want 1")
        return
    spec = ds[0]["spec"]["template"]["spec"]
    if spec.get("hostPID") is not True:
        err("daemonset.yaml: hostPID is not true")
    for k in ("hostNetwork", "hostIPC"):
        if spec.get(k):
            err(f"daemonset.yaml: {k} is true")
    if spec.get("automountServiceAccountToken") is not False:
        err("daemonset.yaml: the service account token is mounted")
    if spec.get("priorityClassName") != "system-node-critical":
        err("daemonset.yaml: priorityClassName is not system-node-critical")
    if not any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect")
               for t in spec.get("tolerations", [])):
        err("daemonset.yaml: no toleration of every taint (operator: Exists, no key)")
    want_caps = documented_caps(d)
    if not want_caps:
        err("README.md: no capability table (| `CAP_X` | rows)")
    hostpath = {v["name"] for v in spec.get("volumes", []) if "hostPath" in v}
    mounted = set()
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    if not spec.get("containers"):
        err("daemonset.yaml: no containers")
    for c in containers:
        n = f"daemonset.yaml: container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            err(f"{n}: readOnlyRootFilesystem is not true")
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            err(f"{n}: seccomp Unconfined")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            err(f"{n}: does not drop ALL capabilities")
        add = {a.upper().removeprefix("CAP_") for a in caps.get("add") or []}
        if add != want_caps:
            err(f"{n}: adds capabilities {sorted(add)}, README.md documents {sorted(want_caps)}")
        for cap in add:
            if not re.search(rf"^\s*# CAP_{cap}: \S", text, re.M):
                err(f"{n}: no '# CAP_{cap}: why' comment in daemonset.yaml")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if not (res.get(kind) or {}).get(r):
                    err(f"{n}: no {kind}.{r}")
        for m in c.get("volumeMounts", []):
            if m["name"] in hostpath:
                mounted.add(m["name"])
                if m.get("readOnly") is not True:
                    err(f"{n}: hostPath volume {m['name']} mounted at {m['mountPath']} not readOnly")
                if m.get("mountPropagation") == "Bidirectional":
                    err(f"{n}: hostPath volume {m['name']} propagates mounts back to the host")
    for v in sorted(hostpath - mounted):
        err(f"daemonset.yaml: hostPath volume {v} is declared but not mounted")
    main = spec["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}
    probe = (main.get("livenessProbe") or {}).get("httpGet") or {}
    if probe.get("path") != "/healthz":
        err(f"daemonset.yaml: liveness probe path is {probe.get('path')!r}, not /healthz")
    if ports.get(probe.get("port"), probe.get("port")) != 9808:
        err(f"daemonset.yaml: liveness probe port {probe.get('port')!r} is not 9808")
    args = main.get("args") or []
    for want in (["serve"], ["--listen", "0.0.0.0:9808"], ["--host-root", "/host"]):
        if not any(args[i:i + len(want)] == want for i in range(len(args))):
            err(f"daemonset.yaml: args {args} lack {' '.join(want)}")
    ann = ds[0]["spec"]["template"]["metadata"].get("annotations") or {}
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != "9808":
        err("daemonset.yaml: no prometheus.io/scrape and port 9808 annotations")
    # The Service and ServiceMonitor must reach these pods on this port.
    pod_labels = ds[0]["spec"]["template"]["metadata"]["labels"]
    sm_docs = load_all(os.path.join(d, "servicemonitor.yaml"))
    svc = [x for x in sm_docs if x.get("kind") == "Service"]
    sm = [x for x in sm_docs if x.get("kind") == "ServiceMonitor"]
    if len(svc) != 1 or len(sm) != 1:
        err("servicemonitor.yaml: want one Service and one ServiceMonitor")
        return
    svc, sm = svc[0], sm[0]
    if svc["spec"].get("clusterIP") != "None":
        err("servicemonitor.yaml: the Service is not headless")
    if any(pod_labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
        err("servicemonitor.yaml: the Service does not select the DaemonSet's pods")
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    for p in svc_ports.values():
        if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
            err(f"servicemonitor.yaml: targetPort {p.get('targetPort')!r} is no container port")
    if any(svc["metadata"]["labels"].get(k) != v
           for k, v in sm["spec"]["selector"]["matchLabels"].items()):
        err("servicemonitor.yaml: the ServiceMonitor does not select the Service")
    for e in sm["spec"]["endpoints"]:
        if e.get("port") not in svc_ports:
            err(f"servicemonitor.yaml: endpoint port {e.get('port')!r} is not a Service port")
    if svc["metadata"]["namespace"] not in sm["spec"]["namespaceSelector"]["matchNames"]:
        err("servicemonitor.yaml: namespaceSelector misses the Service's namespace")

# ----------------------------------------------------------------- Dockerfile
def dockerfile_instructions(path):
    out, cur = [], ""
    for line in open(path):
        line = line.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        op, _, arg = cur.strip().partition(" ")
        out.append((op.upper(), arg.strip()))
        cur = ""
    return out

def lib_packages(libs):
    """Debian package of the shared library each -lX links to, on this machine."""
    src = os.path.join(os.environ["T"], "empty.c")
    exe = os.path.join(os.environ["T"], "empty")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    pkgs = {}
    for lib in libs:
        r = subprocess.run(["clang", src, "-o", exe, "-Wl,--no-as-needed", f"-l{lib}"],
                           capture_output=True, text=True)
        if r.returncode:
            err(f"Makefile: cannot link -l{lib} here: {r.stderr.strip()}")
            continue
        dyn = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True).stdout
        for soname in re.findall(r"\(NEEDED\).*\[(.+)\]", dyn):
            if soname.startswith(("libc.so", "libm.so")):
                continue
            path = subprocess.run(["clang", f"-print-file-name={soname}"],
                                  capture_output=True, text=True).stdout.strip()
            real = os.path.basename(os.path.realpath(path))
            q = subprocess.run(["dpkg-query", "-S", f"*/{real}"],
                               capture_output=True, text=True).stdout
            found = {l.split(":")[0] for l in q.splitlines() if l.strip()}
            if len(found) != 1:
                err(f"-l{lib}: {soname} belongs to packages {sorted(found)}, want one")
            pkgs.update((p, lib) for p in found)
    return pkgs

def base_image_packages():
    """Essential and required packages and what they depend on: what a
    debian:*-slim image already holds (debootstrap minbase)."""
    q = subprocess.run(["dpkg-query", "-W", "-f",
                        "${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\n"],
                       capture_output=True, text=True).stdout
    deps, base = {}, []
    for line in q.splitlines():
        pkg, ess, prio, dep = line.split("\t")
        deps[pkg] = {re.split(r"[ :(]", alt.strip())[0]
                     for alt in re.split(r"[,|]", dep) if alt.strip()}
        if ess == "yes" or prio == "required":
            base.append(pkg)
    seen = set()
    while base:
        p = base.pop()
        if p not in seen:
            seen.add(p)
            base.extend(deps.get(p, ()))
    return seen

def cmd_dockerfile(d):
    ins = dockerfile_instructions(os.path.join(d, "Dockerfile"))
    froms = [arg for op, arg in ins if op == "FROM"]
    if len(froms) < 2:
        err(f"Dockerfile: {len(froms)} stage(s), want a multi-stage build")
        return
    releases = set()
    for arg in froms:
        image = arg.split()[0]
        name, _, tag = image.partition("@")[0].rpartition(":") if ":" in image else (image, "", "")
        if "@sha256:" not in image and (not tag or tag in ("latest", "stable", "testing",
                                                            "unstable", "sid", "slim")):
            err(f"Dockerfile: base image {image} is not pinned to a release tag or digest")
        if (name or image).split("/")[-1] != "debian":
            err(f"Dockerfile: base image {image} is not Debian")
        releases.add(re.split(r"[-.]", tag)[0] if tag else "?")
    if len(releases) != 1:
        err(f"Dockerfile: stages use different Debian releases {sorted(releases)}")
    stages, cur = [], None
    for op, arg in ins:
        if op == "FROM":
            m = re.search(r"\bAS\s+(\S+)", arg, re.I)
            cur = {"as": m.group(1) if m else None, "ins": []}
            stages.append(cur)
        else:
            cur["ins"].append((op, arg))
    final = stages[-1]
    builders = {s["as"] for s in stages[:-1]}
    if not any(op == "COPY" and re.search(r"--from=(\S+)", a) and
               re.search(r"--from=(\S+)", a).group(1) in builders for op, a in final["ins"]):
        err("Dockerfile: the final stage copies nothing from a build stage")
    if not any(op == "RUN" and re.search(r"\bmake\b.*\bportburn\b", a)
               for s in stages[:-1] for op, a in s["ins"]):
        err("Dockerfile: no build stage runs make portburn")
    if any(op == "RUN" and re.search(r"\b(make|clang|gcc)\b", a) for op, a in final["ins"]):
        err("Dockerfile: the final stage compiles (build tools in the runtime image)")
    for op, a in ins:
        if op == "ADD" and re.search(r"(https?|ftp)://|\bgit@", a):
            err(f"Dockerfile: ADD of a remote source: {a}")
        if op == "RUN" and re.search(r"(curl|wget)\b[^|;&]*\|\s*(ba)?sh", a):
            err(f"Dockerfile: pipes a download into a shell: {a}")
        if op == "RUN" and "apt-get install" in a:
            if "--no-install-recommends" not in a:
                err("Dockerfile: apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in a:
                err("Dockerfile: apt lists are left in the layer")
    entry = [json.loads(a) for op, a in final["ins"] if op == "ENTRYPOINT"]
    cmd = [json.loads(a) for op, a in final["ins"] if op == "CMD"]
    if not entry or not isinstance(entry[-1], list):
        err("Dockerfile: no ENTRYPOINT in exec (JSON) form")
    else:
        argv = entry[-1] + (cmd[-1] if cmd else [])
        if not (argv[0].endswith("portburn") and argv[1:2] == ["serve"]):
            err(f"Dockerfile: the image runs {argv}, not portburn serve")
    # Runtime packages: exactly the libraries the Makefile links, less what the
    # base image has. Checked on this machine's Debian when it is the image's.
    installed = set()
    for op, a in final["ins"]:
        for m in re.finditer(r"apt-get install((?:\s+[-\w.+]+)+)", a):
            installed |= {w for w in m.group(1).split() if not w.startswith("-")}
    mk = open(os.path.join(TOP, "Makefile")).read()
    libs = [l for l in re.findall(r"-l([\w.+-]+)",
                                  " ".join(re.findall(r"^LDLIBS\s*\+?=(.*)$", mk, re.M)))
            if l not in ("m", "pthread", "dl", "rt", "c")]
    if not libs:
        err("Makefile: no LDLIBS found")
    here = dict(l.strip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
    if here.get("VERSION_CODENAME") in releases:
        need = lib_packages(libs)
        base = base_image_packages()
        for p, lib in sorted(need.items()):
            if p not in installed and p not in base:
                err(f"Dockerfile: runtime stage lacks {p} (for -l{lib})")
        for p in sorted(installed - set(need)):
            err(f"Dockerfile: runtime stage installs {p}, which no -l in LDLIBS needs")
    else:
        print(f"# Dockerfile: this machine is {here.get('VERSION_CODENAME')}, the image "
              f"{sorted(releases)}: runtime packages checked by name only")
        for lib in libs:
            stem = "zlib" if lib == "z" else "lib" + lib
            if not any(p.startswith(stem) for p in installed):
                err(f"Dockerfile: no runtime package for -l{lib}")

if __name__ == "__main__":
    check, d = sys.argv[1], sys.argv[2]
    if check == "dashboard-rules":
        cmd_dashboard_rules(d, sys.argv[3])
    else:
        {"metrics": cmd_metrics, "daemonset": cmd_daemonset, "dockerfile": cmd_dockerfile}[check](d)
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)
PYEOF
export TOP T

# ------------------------------------------------------------------ the checks
# Each takes a copy of deploy/ (or deploy/ itself) and returns 0 when it passes.

check_yamllint() {
	yamllint --strict -c "$1/.yamllint" "$1"
}

check_promtool_rules() {
	promtool check rules "$1/rules/portburn.rules.yml" &&
		(cd "$1/rules" && promtool test rules portburn.rules.test.yml)
}

check_prometheusrule_generated() {
	"$1/rules/gen-prometheusrule.sh" - >"$T/prometheusrule.yaml" &&
		diff -u "$1/prometheus-rules.yaml" "$T/prometheusrule.yaml" &&
		python3 - "$1" <<-'EOF'
		import sys, yaml
		d = sys.argv[1]
		src = yaml.safe_load(open(f"{d}/rules/portburn.rules.yml"))
		crd = [x for x in yaml.safe_load_all(open(f"{d}/prometheus-rules.yaml")) if x]
		assert len(crd) == 1 and crd[0]["kind"] == "PrometheusRule", "not one PrometheusRule"
		assert crd[0]["spec"] == src, "PrometheusRule spec differs from the rules file"
		EOF
}

check_dashboard() {
	jq -e '.title and .uid and (.panels | length > 0)' "$1/grafana-dashboard.json" >/dev/null &&
		python3 "$PY" dashboard-rules "$1" "$T/dashboard-rules.yml" &&
		promtool check rules "$T/dashboard-rules.yml"
}

check_metrics_documented() { python3 "$PY" metrics "$1"; }
check_daemonset() { python3 "$PY" daemonset "$1"; }
check_dockerfile() { python3 "$PY" dockerfile "$1"; }

check_spdx() {
	local f rc=0
	while IFS= read -r f; do
		case "$f" in *.json) continue ;; esac # JSON has no comments
		if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-only'; then
			echo "$f: no SPDX line"
			rc=1
		fi
	done < <(find "$1" -type f)
	return $rc
}

CHECKS=(check_yamllint check_promtool_rules check_prometheusrule_generated check_dashboard
	check_metrics_documented check_daemonset check_dockerfile check_spdx)

result() { # ok? description
	if [ "$1" = ok ]; then
		PASSES=$((PASSES + 1))
		echo "ok - $2"
	else
		FAILS=$((FAILS + 1))
		echo "not ok - $2"
	fi
}

for c in "${CHECKS[@]}"; do
	out=$("$c" "$TOP/deploy" 2>&1)
	if [ $? -eq 0 ]; then
		result ok "$c deploy/"
	else
		result fail "$c deploy/"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
done

# ------------------------------------------------------------------ mutations
# mutant NAME CHECK FILE SED_SCRIPT: break FILE of a copy of deploy/ with sed,
# and expect CHECK to fail on it (after making sure the file did change).
mutant() {
	local name=$1 check=$2 file=$3 script=$4 d=$T/mutant
	rm -rf "$d" && cp -a "$TOP/deploy" "$d"
	sed -i -e "$script" "$d/$file"
	if cmp -s "$TOP/deploy/$file" "$d/$file"; then
		result fail "mutant '$name': sed changed nothing in $file (fix the test)"
		return
	fi
	if "$check" "$d" >"$T/mutant.log" 2>&1; then
		result fail "mutant '$name': $check still passes"
	else
		result ok "mutant '$name' caught by $check: $(grep -m1 -v -e '^[[:space:]]*$' -e '^Checking ' \
			-e '^Unit Testing' -e '^ *FAILED:$' "$T/mutant.log" | sed "s|$T/mutant/||" | cut -c1-110)"
	fi
}

mutant "trailing spaces" check_yamllint daemonset.yaml 's/^kind: DaemonSet$/kind: DaemonSet   /'
mutant "bad indentation" check_yamllint servicemonitor.yaml 's/^  clusterIP: None/   clusterIP: None/'
mutant "PromQL syntax error in a rule" check_promtool_rules rules/portburn.rules.yml \
	's/portburn_amplification_ratio > 2$/portburn_amplification_ratio > > 2/'
mutant "critical threshold moved" check_promtool_rules rules/portburn.rules.yml \
	's/portburn_destination_utilization_ratio > 0.9$/portburn_destination_utilization_ratio > 0.95/'
mutant "exhaustion alert misses new series" check_promtool_rules rules/portburn.rules.yml \
	's/^ *and on (instance, job)$/      and on (instance, job, nothing)/'
mutant "annotation text changed" check_promtool_rules rules/portburn.rules.yml \
	's/ran out of ephemeral source ports/is out of ports/'
mutant "events lost never fires" check_promtool_rules rules/portburn.rules.yml \
	's/increase(portburn_events_lost_total\[5m\]) > 0/increase(portburn_events_lost_total[5m]) > 100/'
mutant "amplification fires early" check_promtool_rules rules/portburn.rules.yml \
	'/alert: PortburnSidecarAmplification/,/for:/s/for: 10m/for: 5m/'
mutant "SNAT warning threshold moved" check_promtool_rules rules/portburn.rules.yml \
	's/portburn_snat_utilization_ratio > 0.7$/portburn_snat_utilization_ratio > 0.8/'
mutant "top10 is a top5" check_promtool_rules rules/portburn.rules.yml \
	's/topk(10, namespace_pod:portburn_ports_in_use:sum)/topk(5, namespace_pod:portburn_ports_in_use:sum)/'
mutant "host counted as a pod" check_promtool_rules rules/portburn.rules.yml \
	's/(portburn_ports_in_use{namespace!=""})/(portburn_ports_in_use)/'
mutant "PrometheusRule edited by hand" check_prometheusrule_generated prometheus-rules.yaml \
	's/for: 10m/for: 15m/'
mutant "dashboard not JSON" check_dashboard grafana-dashboard.json '$s/}$//'
mutant "dashboard PromQL error" check_dashboard grafana-dashboard.json \
	's/topk(10, portburn_amplification_ratio/topk(10,, portburn_amplification_ratio/'
mutant "dashboard metric not in METRICS.md" check_metrics_documented grafana-dashboard.json \
	's/portburn_snat_utilization_ratio/portburn_snat_utilisation_ratio/'
mutant "dashboard legend label unknown" check_metrics_documented grafana-dashboard.json \
	's/{{namespace}}\/{{pod}} {{role}}/{{namespace}}\/{{pod}} {{rolle}}/'
mutant "dashboard selector label unknown" check_metrics_documented grafana-dashboard.json \
	's/errno=~\\"EADDRNOTAVAIL|EADDRINUSE\\"}\[\$__range\]/erno=~\\"EADDRNOTAVAIL|EADDRINUSE\\"}[$__range]/'
mutant "dashboard drops a metric" check_metrics_documented grafana-dashboard.json \
	's/portburn_reconcile_drift_total/portburn_events_lost_total/'
mutant "rule annotation label unknown" check_metrics_documented rules/portburn.rules.yml \
	'0,/\$labels.container/s/\$labels.container/$labels.containr/'
mutant "rule groups by a label it lacks" check_metrics_documented rules/portburn.rules.yml \
	's/max by (daddr, dport)/max by (daddr, dport, pod)/'
mutant "metric dropped from METRICS.md" check_metrics_documented METRICS.md \
	'/^| `portburn_amplification_ratio`/d'
mutant "privileged: true" check_daemonset daemonset.yaml 's/privileged: false/privileged: true/'
mutant "allowPrivilegeEscalation: true" check_daemonset daemonset.yaml \
	's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/'
mutant "capabilities not dropped" check_daemonset daemonset.yaml \
	'/drop:/{n;s/- ALL/- NET_RAW/}'
mutant "undocumented capability" check_daemonset daemonset.yaml \
	's/^\( *\)- SYS_ADMIN$/\1- SYS_ADMIN\n\1- SYS_MODULE/'
mutant "capability without its comment" check_daemonset daemonset.yaml '/# CAP_SYS_PTRACE:/d'
mutant "capability table drifts" check_daemonset README.md '/^| `CAP_SYS_RESOURCE`/d'
mutant "hostPath mounted writable" check_daemonset daemonset.yaml \
	'/mountPath: \/host\/var\/log\/pods/{n;s/readOnly: true/readOnly: false/}'
mutant "hostPath mount without readOnly" check_daemonset daemonset.yaml \
	'/mountPath: \/sys\/kernel\/tracing/{n;d}'
mutant "writable root filesystem" check_daemonset daemonset.yaml \
	's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
mutant "no resource limits" check_daemonset daemonset.yaml '/^ *limits:$/,/memory: 256Mi/d'
mutant "liveness probe elsewhere" check_daemonset daemonset.yaml \
	'/livenessProbe:/,/path:/s/path: \/healthz/path: \/metrics/'
mutant "no liveness probe" check_daemonset daemonset.yaml '/livenessProbe:/,/failureThreshold:/d'
mutant "host network" check_daemonset daemonset.yaml 's/hostNetwork: false/hostNetwork: true/'
mutant "not on every node" check_daemonset daemonset.yaml '/tolerations:/,/operator: Exists/d'
mutant "ServiceMonitor port name" check_daemonset servicemonitor.yaml 's/- port: metrics/- port: http/'
mutant "single-stage image" check_dockerfile Dockerfile '/^FROM debian:bookworm-slim AS builder$/,/^FROM /{/^FROM debian:bookworm-slim$/!d}'
mutant "unpinned base image" check_dockerfile Dockerfile 's/^FROM debian:bookworm-slim$/FROM debian:latest/'
mutant "untagged base image" check_dockerfile Dockerfile 's/^FROM debian:bookworm-slim AS builder$/FROM debian AS builder/'
mutant "stages on different releases" check_dockerfile Dockerfile \
	's/^FROM debian:bookworm-slim AS builder$/FROM debian:trixie-slim AS builder/'
mutant "ADD of a URL" check_dockerfile Dockerfile \
	's|^COPY --from=builder|ADD https://example.invalid/portburn /usr/local/bin/portburn\nCOPY --from=builder|'
mutant "runtime library missing" check_dockerfile Dockerfile 's/libbpf1 libcap2/libcap2/'
mutant "runtime stage with extras" check_dockerfile Dockerfile 's/libbpf1 libcap2/libbpf1 curl libcap2/'
mutant "image does not run serve" check_dockerfile Dockerfile 's/^CMD \["serve",/CMD ["top",/'
mutant "apt lists left behind" check_dockerfile Dockerfile '0,/rm -rf \/var\/lib\/apt\/lists/s/rm -rf \/var\/lib\/apt\/lists\/\*/true/'
mutant "file without SPDX" check_spdx servicemonitor.yaml '/SPDX-License-Identifier/d'

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
