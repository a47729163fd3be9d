import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from spotopt.demo import Demo, server_wait


class Command(BaseCommand):
    help = "Run the scripted demo fleet of `make run` against a running server."

    def add_arguments(self, parser):
        parser.add_argument("--server", default="http://127.0.0.1:8000")
        parser.add_argument("--token", default="",
                            help="client token (default: the .demo-token file)")
        parser.add_argument("--duration", type=float, default=0,
                            help="real seconds to run; 0 runs until stopped")

    def handle(self, *args, **options):
        token = options["token"] or self._demo_token()
        server = options["server"].rstrip("/")
        if not server_wait(url=server):
            raise CommandError(f"no server answered at {server}")

        logging.getLogger("spotagent").setLevel(logging.WARNING)
        demo = Demo(server=server, token=token, out=self.stdout.write)
        try:
            demo.run(stop_after=options["duration"])
        except KeyboardInterrupt:
            pass
        finally:
            demo.stop()
        counts = demo.fleet.stats.summary()["counts"]
        self.stdout.write(f"demo: stopped; {counts}")
        return None

    def _demo_token(self) -> str:
        path = settings.BASE_DIR / ".demo-token"
        if not path.exists():
            raise CommandError(
                "no .demo-token: run `manage.py bootstrap_demo` or pass --token"
            )
        return path.read_text().strip()
