"""Serve the chart library from its installed Python package.

Plotly's wheel carries the browser bundle, so the charts need nothing but
pip: no CDN at run time and no copied library file in the repository.
"""

import importlib.util
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

CHART_LIBRARY_PATH = "vendor/plotly.min.js"


def _bundle_directory() -> Path:
    spec = importlib.util.find_spec("plotly")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data"


class ChartLibraryFinder(BaseFinder):
    def find(self, path, find_all=False, **kwargs):
        if path != CHART_LIBRARY_PATH:
            return [] if find_all else None
        found = str(_bundle_directory() / "plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=str(_bundle_directory()))
        storage.prefix = "vendor"
        yield "plotly.min.js", storage

    def check(self, **kwargs):
        return []
