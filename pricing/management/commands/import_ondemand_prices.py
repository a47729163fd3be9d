from pricing.imports import ondemand_prices_import
from pricing.management.commands._importing import ImportCommand


class Command(ImportCommand):
    help = "Load Linux on-demand prices per instance type and region from a CSV."
    service = staticmethod(ondemand_prices_import)
