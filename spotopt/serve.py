"""`make run`: the embedded server, plus the demo fleet when DEMO is on."""

import argparse
import os
import subprocess
import sys

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotopt.settings.base")
    fleet = _demo_fleet_start(args.host, args.port)
    print(f"SpotOpt is at http://{args.host}:{args.port}/ "
          f"(admin: /admin/, API docs: /api/docs/)", flush=True)
    try:
        uvicorn.run(
            "spotopt.asgi:application", host=args.host, port=args.port,
            log_level="info", lifespan="off",
        )
    finally:
        if fleet is not None:
            fleet.terminate()


def _demo_fleet_start(host: str, port: int):
    if os.environ.get("DEMO", "1") in ("0", "false", "no"):
        return None
    # A server bound to every interface is still reached on the loopback.
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    command = [
        sys.executable, "manage.py", "demo_fleet",
        "--server", f"http://{host}:{port}",
    ]
    # The fleet is a client of the server: the server alone runs the jobs.
    environment = {**os.environ, "EMBEDDED_SCHEDULER": "0"}
    try:
        return subprocess.Popen(command, env=environment)
    except OSError as error:
        print(f"Demo fleet not started: {error}", file=sys.stderr)
        return None


if __name__ == "__main__":
    main()
