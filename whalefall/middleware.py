"""Reject NUL bytes in the URL before they reach a query: PostgreSQL text cannot hold them."""

from django.http import HttpResponseBadRequest, JsonResponse


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "") or "\x00" in str(request.GET):
            message = "NUL characters are not allowed in the URL."
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "message": message, "instance_id": None}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
