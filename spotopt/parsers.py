"""The JSON parser of the API, hardened against hostile nesting."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with deep nesting refused as a parse error.

    Python's decoder recurses once per nesting level, so a body of a few
    hundred kilobytes of `[` raises RecursionError, which DRF does not turn
    into a 400; it would surface as a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.")
