"""What `pip install` of a release gives: the built package, used outside the checkout.

The sdist is built from the checkout and the wheel from the sdist (as ``python
-m build`` does), so both are proven at once. The wheel is installed into a fresh
virtual environment in a temporary directory; that environment finds the
package's dependencies in the checkout's venv (a ``.pth`` line, so no index is
needed), but not the checkout's sources (that venv's editable-install hook is
not processed). Then, from that environment only: ``coflux server`` serves
Studio's app from the wheel, an agent runs the hello workflow, and mypy checks a
user's file against the installed package's types (``py.typed``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from tests.support.cluster import EXAMPLES, Process, base_env, free_port
from tests.support.eventually import eventually

ROOT = Path(__file__).parents[2]

USER_FILE = """\
import coflux as cf


@cf.task()
def add(a: int, b: int) -> int:
    return a + b


@cf.workflow()
def total(values: list[int]) -> int:
    result: int = 0
    for value in values:
        result = add(result, value)
    wrong: str = add(1, 2)  # the one error mypy must find
    return result
"""


def _run(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=base_env(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _installed(tmp_path: Path) -> Path:
    """A fresh venv holding the wheel built from the sdist built from the checkout."""
    dist = tmp_path / "dist"
    built = _run(
        sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT, cwd=tmp_path
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("coflux-*.whl")
    (sdist,) = dist.glob("coflux-*.tar.gz")
    assert sdist.stat().st_size > 0
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
    ).stdout.strip()
    # The checkout venv's packages, as a plain path: its .pth files (the editable
    # install of the checkout) are not processed from there.
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        wheel, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return venv


def test_the_built_wheel_serves_studio_runs_hello_and_ships_its_types(tmp_path: Path) -> None:
    venv = _installed(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    where = _run(venv / "bin" / "python", "-c", "import coflux; print(coflux.__file__)", cwd=work)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    coflux = venv / "bin" / "coflux"
    port = free_port()
    server = Process(
        [str(coflux), "server", "--port", str(port), "--data-dir", str(work / "data")],
        base_env(),
        work,
    )
    server.start()
    agent: Process | None = None
    try:
        url = f"http://127.0.0.1:{port}"

        def serving() -> bool:
            if server.popen.poll() is not None:
                raise AssertionError(f"server exited:\n{server.output.text()}")
            try:
                return httpx.get(url + "/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        eventually(serving, 30, message="the installed server to serve")
        page = httpx.get(url + "/", timeout=10)
        assert page.status_code == 200
        assert '<script type="module"' in page.text and "not built" not in page.text
        script = page.text.split('src="', 1)[1].split('"', 1)[0]
        assert httpx.get(url + script, timeout=10).status_code == 200

        env = base_env(COFLUX_HOST=f"127.0.0.1:{port}", COFLUX_PROJECT="demo")
        env["COFLUX_ENVIRONMENT"] = "production"

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                [str(coflux), *args], cwd=work, env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            return done

        shutil.copy(EXAMPLES / "hello.py", work / "hello.py")
        cli("projects", "create", "demo")
        cli("environments", "create", "production")
        cli("register", "hello.py")
        agent = Process([str(coflux), "agent", "hello.py"], env, work)
        agent.start()
        done = cli("submit", "hello", "print_greeting", '"Wheel"', "--wait")
        assert json.loads(done.stdout) == "Hello, Wheel!"
    finally:
        if agent is not None:
            agent.stop()
        server.stop()

    (work / "user_flows.py").write_text(USER_FILE)
    (work / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    checked = _run(
        sys.executable, "-m", "mypy", "--python-executable", venv / "bin" / "python",
        "user_flows.py", cwd=work,
    )  # fmt: skip
    output = checked.stdout + checked.stderr
    assert "missing library stubs or py.typed marker" not in output, output
    assert checked.returncode == 1, output
    # The decorated task kept its signature and return type: only the wrong line fails.
    errors = [line for line in output.splitlines() if ": error:" in line]
    wrong = next(n for n, line in enumerate(USER_FILE.splitlines(), 1) if "wrong" in line)
    assert len(errors) == 1 and f"user_flows.py:{wrong}:" in errors[0], output
    assert 'incompatible types in assignment (expression has type "int"' in errors[0].lower()
