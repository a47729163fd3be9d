"""What the three import commands share: path checks, progress, errors."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pricing.imports import ImportFileError


class ImportCommand(BaseCommand):
    """Runs `service(path=..., progress=...)` and prints its counts."""

    service = None

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, plain or gzip-compressed")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")

        bar = tqdm(unit=" rows", unit_scale=True, file=self.stderr,
                   disable=options["verbosity"] == 0, desc=path.name)
        try:
            counts = self.service(
                path=path, progress=bar, **self.extra(options)
            )
        except ImportFileError as error:
            raise CommandError(f"{path.name}: {error}")
        finally:
            bar.close()
        summary = ", ".join(f"{name} {value}" for name, value in counts.items())
        self.stdout.write(f"Imported {path.name}: {summary}")

    def extra(self, options) -> dict:
        return {}
