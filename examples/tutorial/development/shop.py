"""An order pipeline: the example docs/tutorial.md walks through.

``process_order`` reserves an order's items at the warehouse, prices them from
the price list and writes a receipt. Each call in it is a step that Coflux
schedules and records: the price list is cached for ten minutes, so the orders
after the first reuse it; the reservation is retried when the warehouse fails,
and memoised, so that running an order's workflow again never reserves twice.
The warehouse is a folder next to this file, holding one file per reservation.
"""

from pathlib import Path

import coflux as cf

WAREHOUSE = Path(__file__).parent / "warehouse"


class WarehouseUnavailable(Exception):
    """The warehouse did not answer (here: the first time it is asked)."""


@cf.task(cache=600)
def fetch_prices() -> dict[str, float]:
    """Download the price list (slow in real life: worth caching)."""
    cf.log_info("downloaded the price list")
    return {"apple": 0.5, "pear": 0.75, "fig": 2.0}


@cf.task(retries=2, memo=True)
def reserve_stock(order_id: str, items: dict[str, int]) -> str:
    """Reserve the order's items; the warehouse fails the first request it gets."""
    if not WAREHOUSE.exists():
        WAREHOUSE.mkdir()
        raise WarehouseUnavailable("the warehouse is starting up")
    reservation = WAREHOUSE / f"{order_id}.txt"
    reservation.write_text(f"{items}\n")
    return reservation.name


@cf.task()
def price_order(items: dict[str, int], prices: dict[str, float]) -> float:
    """The order's total."""
    return sum(prices[name.lower()] * count for name, count in items.items())


@cf.task()
def write_receipt(order_id: str, total: float, reservation: str) -> str:
    """The text the customer gets."""
    return f"order {order_id}: {total:.2f} EUR, reserved as {reservation}"


@cf.workflow()
def process_order(order_id: str, items: dict[str, int]) -> str:
    """Reserve, price and confirm an order of items (name: count)."""
    prices = fetch_prices()
    reservation = reserve_stock(order_id, items)
    total = price_order(items, prices)
    return write_receipt(order_id, total, reservation)
