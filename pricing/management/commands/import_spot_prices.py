from pricing.imports import spot_prices_import
from pricing.management.commands._importing import ImportCommand


class Command(ImportCommand):
    help = "Load a DescribeSpotPriceHistory CSV export into the raw price tier."
    service = staticmethod(spot_prices_import)

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--product", default="Linux/UNIX",
            help="Keep rows of this product description only ('' keeps all).",
        )

    def extra(self, options) -> dict:
        return {"product": options["product"]}
