from pricing.imports import interruption_bands_import
from pricing.management.commands._importing import ImportCommand


class Command(ImportCommand):
    help = "Load Spot Instance Advisor interruption-band snapshots from a CSV."
    service = staticmethod(interruption_bands_import)
