"""The report's HTML page in a real browser: headless Chromium loads it from disk offline; every image must
decode to a non-zero natural size and the console must stay free of errors. Skips when chromium is absent
(CI installs it: see .ci/run)."""
import re
import shutil
import subprocess

import pytest

from test_report import report, small_store  # noqa: F401  (the shared small store of real runs)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# injected into a copy of the page: records load errors and, after load, each image's natural size
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target.src || e)), true);
const origError = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); origError(...a); };
window.addEventListener('load', () => {
  const out = document.createElement('pre'); out.id = 'probe';
  const sizes = [...document.images].map(i => i.naturalWidth + 'x' + i.naturalHeight);
  out.textContent = JSON.stringify({sizes, errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_opens_in_chromium(report, tmp_path):  # noqa: F811
    import json

    page = (report / "report.html").read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("<head>", "<head>" + PROBE, 1))
    res = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S)
    assert found, res.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["sizes"] and all(not s.startswith("0x") and not s.endswith("x0") for s in probe["sizes"])
    assert probe["errors"] == []
    console = [line for line in res.stderr.splitlines() if "CONSOLE" in line and "probed.html" in line]
    assert console == []
