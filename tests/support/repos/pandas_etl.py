"""Upstream Coflux's ``examples/pandas_etl`` workflow, in its shape, with its use of
``cf.asset`` unchanged: pandas, Faker and matplotlib are replaced by the ``csv``
module, a seeded random generator and a hand-written "chart" file."""

import csv
import random
import typing as t
from pathlib import Path

import coflux as cf

fake = random.Random(7)


def _write_csv_asset(filename: str, fieldnames: list[str], data: t.Iterable[dict]) -> cf.Asset:
    file_path = Path.cwd().joinpath(filename)
    with open(file_path, mode="w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(data)
    return cf.asset(file_path)


@cf.task()
def generate_customers(count: int) -> cf.Asset:
    return _write_csv_asset(
        "customers.csv",
        ["id", "name"],
        ({"id": f"c{i}", "name": f"customer {i}"} for i in range(count)),
    )


@cf.task()
def generate_categories(count: int) -> cf.Asset:
    return _write_csv_asset(
        "categories.csv",
        ["id", "name"],
        ({"id": f"k{i}", "name": f"category {i}"} for i in range(count)),
    )


def _load_ids(asset_: cf.Execution[cf.Asset], path: str):
    with open(asset_.result()[path].restore(), newline="") as file:
        return {row["id"] for row in csv.DictReader(file)}


@cf.task(wait={"categories_"})
def generate_products(count: int, categories_: cf.Execution[cf.Asset]) -> cf.Asset:
    category_ids = sorted(_load_ids(categories_, "categories.csv"))
    return _write_csv_asset(
        "products.csv",
        ["id", "category_id", "unit_price"],
        (
            {"id": f"p{i}", "category_id": fake.choice(category_ids), "unit_price": i % 9 + 1}
            for i in range(count)
        ),
    )


@cf.task(wait={"products_", "customers_"})
def generate_sales(
    count: int, products_: cf.Execution[cf.Asset], customers_: cf.Execution[cf.Asset]
) -> cf.Asset:
    product_ids = sorted(_load_ids(products_, "products.csv"))
    customer_ids = sorted(_load_ids(customers_, "customers.csv"))
    return _write_csv_asset(
        "transactions.csv",
        ["id", "product_id", "customer_id", "quantity_sold"],
        (
            {
                "id": f"s{i}",
                "product_id": fake.choice(product_ids),
                "customer_id": fake.choice(customer_ids),
                "quantity_sold": i % 5 + 1,
            }
            for i in range(count)
        ),
    )


@cf.task(memo=True)
def load_dataset() -> dict[str, cf.Execution[cf.Asset]]:
    customers_ = generate_customers.submit(200)
    categories_ = generate_categories.submit(5)
    products_ = generate_products.submit(50, categories_)
    sales_ = generate_sales.submit(100, products_, customers_)
    return {
        "customers": customers_,
        "categories": categories_,
        "products": products_,
        "sales": sales_,
    }


def _load_csv(asset_: cf.Execution[cf.Asset], path: str) -> list[dict[str, str]]:
    with open(asset_.result()[path].restore(), newline="") as file:
        return list(csv.DictReader(file))


@cf.task(wait={"dataset_"})
def generate_sales_summary(dataset_: cf.Execution[dict[str, cf.Execution[cf.Asset]]]) -> dict:
    dataset = dataset_.result()
    sales = _load_csv(dataset["sales"], "transactions.csv")
    products = {p["id"]: p for p in _load_csv(dataset["products"], "products.csv")}
    summary: dict[str, int] = {}
    for sale in sales:
        category = products[sale["product_id"]]["category_id"]
        summary[category] = summary.get(category, 0) + int(sale["quantity_sold"])
    return summary


@cf.task(wait=True)
def write_sales_summary(sales_summary_: cf.Execution[dict]) -> cf.Asset:
    sales_summary = sales_summary_.result()
    return _write_csv_asset(
        "sales_summary.csv",
        ["category_id", "total_quantity_sold"],
        ({"category_id": k, "total_quantity_sold": v} for k, v in sorted(sales_summary.items())),
    )


@cf.task(wait=True)
def render_chart(sales_summary_, dataset_) -> cf.Asset:
    sales_summary = sales_summary_.result()
    categories_asset = dataset_.result()["categories"].result()

    with open(categories_asset.restore()["categories.csv"], newline="") as file:
        categories_by_id = {row["id"]: row["name"] for row in csv.DictReader(file)}

    bars = [f"{categories_by_id[k]}: {'#' * v}" for k, v in sorted(sales_summary.items())]
    Path("sales_summary_chart.png").write_text("\n".join(bars))
    return cf.asset(match="*.png")


@cf.workflow()
def workflow() -> dict:
    dataset = load_dataset.submit()
    sales_summary = generate_sales_summary.submit(dataset)
    summary_ = write_sales_summary.submit(sales_summary)
    chart_ = render_chart.submit(sales_summary, dataset)
    return {"summary": summary_.result(), "chart": chart_.result()}
