"""The bookshop's catalogue: list and show books, take orders.

One function behind three API Gateway (REST) routes, routed with Powertools' event handler.
The books ship with the code (``books.json``); the stage, currency, page size and the origin
allowed by CORS come from the function's environment.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

CURRENCY = os.environ["CURRENCY"]
STAGE = os.environ["STAGE"]
MAX_PAGE_SIZE = int(os.environ.get("MAX_PAGE_SIZE", "20"))
MAX_QUANTITY = 10

logger = Logger()
app = APIGatewayRestResolver(
    cors=CORSConfig(allow_origin=os.environ["ALLOWED_ORIGIN"], max_age=300)
)

# Read once per execution environment, in the Init phase.
BOOKS: dict[str, dict[str, Any]] = {
    book["isbn"]: book
    for book in json.loads((Path(__file__).parent / "books.json").read_text(encoding="utf-8"))
}


def _priced(book: dict[str, Any]) -> dict[str, Any]:
    return {**book, "currency": CURRENCY}


@app.get("/books")
def list_books() -> dict[str, Any]:
    """``GET /books?author=...&limit=...``: the books, by title, optionally of one author."""
    author = app.current_event.get_query_string_value("author")
    limit_text = app.current_event.get_query_string_value("limit", str(MAX_PAGE_SIZE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    books = sorted(BOOKS.values(), key=lambda book: book["title"])
    if author is not None:
        books = [book for book in books if book["author"] == author]
    page = books[: int(limit_text)]
    return {"books": [_priced(book) for book in page], "count": len(page), "total": len(books)}


@app.get("/books/<isbn>")
def get_book(isbn: str) -> dict[str, Any]:
    """``GET /books/{isbn}``: one book, or 404."""
    book = BOOKS.get(isbn)
    if book is None:
        raise NotFoundError(f"No book with ISBN {isbn}")
    return _priced(book)


@app.post("/orders")
def place_order() -> Response[dict[str, Any]]:
    """``POST /orders`` with ``{"isbn": ..., "quantity": n}``: 201 and the order, or 400."""
    try:
        order = json.loads(app.current_event.body or "")
    except ValueError:
        raise BadRequestError("The body must be a JSON object") from None
    if not isinstance(order, dict):
        raise BadRequestError("The body must be a JSON object")
    isbn, quantity = order.get("isbn"), order.get("quantity", 1)
    if isbn not in BOOKS:
        raise BadRequestError(f"Unknown ISBN: {isbn}")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise BadRequestError("quantity must be a whole number")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadRequestError(f"quantity must be from 1 to {MAX_QUANTITY}")
    order_id = app.lambda_context.aws_request_id
    total = Decimal(BOOKS[isbn]["price"]) * quantity
    logger.info("order placed", extra={"order_id": order_id, "isbn": isbn, "quantity": quantity})
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        headers={"Location": f"/orders/{order_id}"},
        body={
            "orderId": order_id,
            "isbn": isbn,
            "quantity": quantity,
            "total": str(total),
            "currency": CURRENCY,
            "stage": STAGE,
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
