"""List pagination with bounds on `limit` and `offset`.

DRF's LimitOffsetPagination takes any integer; a limit or offset beyond
64 bits overflows the database driver and answered 500 (found by the API
fuzzing test). Bounded values keep every list request a 200.
"""

from rest_framework.pagination import LimitOffsetPagination

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_PAGE_SIZE

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
