"""The "Products" sheet of a report: every line item of every deal (``deal-products``).

One row per line of a deal's billable, with the deal's id and name, so the sheet reads back
through a deals mapping with a ``products:`` block (Deal → name, Product/SKU → product_id,
Quantity → qty, ...). Deals are read like a deals sheet (``since``/``query`` filter them);
each deal that has products costs one more request (``GET deals/{id}/billable``); deals whose
``products_count`` is 0 cost none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from concord_etl.crm.fields import FieldSpec
from concord_etl.export.exporter import ExportColumn, Progress, SheetJob

if TYPE_CHECKING:
    from concord_etl.crm.client import ConcordClient

RESOURCE = "deal-products"
# (header, line key, field type); "deal_id"/"deal" come from the deal itself.
LINE_COLUMNS = (
    ("Deal ID", "deal_id", "Id"),
    ("Deal", "deal", "Text"),
    ("Product", "name", "Text"),
    ("SKU", "sku", "Text"),
    ("Quantity", "qty", "Numeric"),
    ("Unit Price", "unit_price", "Decimal"),
    ("Unit", "unit", "Text"),
    ("Discount", "discount_total", "Numeric"),
    ("Discount Type", "discount_type", "Text"),
    ("Tax Rate", "tax_rate", "Numeric"),
    ("Tax Label", "tax_label", "Text"),
    ("Amount", "amount", "Decimal"),
)


def line_columns() -> list[ExportColumn]:
    return [ExportColumn(header, FieldSpec(attribute=key, label=header, type=kind))
            for header, key, kind in LINE_COLUMNS]


@dataclass
class DealProductsJob(SheetJob):
    """A sheet of deal line items; ``records`` counts the lines written."""

    @property
    def listed_resource(self) -> str:
        return "deals"

    def rows(self, client: ConcordClient, *, csv: bool = False,
             progress: Progress | None = None) -> Iterator[list[Any]]:
        lines = 0
        for deal in self.records_iter(client, progress):
            if deal.get("products_count") == 0:
                continue
            billable = client.get_object(f"deals/{deal['id']}/billable")
            for line in billable.get("products") or ():
                record = {**line, "deal_id": deal.get("id"), "deal": deal.get("name")}
                lines += 1
                yield [column.value(record, csv=csv) for column in self.columns]
        self.records = lines


def products_job(name: str, *, since: Any = None, query: str | None = None,
                 skip: frozenset[Any] = frozenset()) -> DealProductsJob:
    return DealProductsJob(name=name, resource=RESOURCE, columns=line_columns(), since=since,
                           query=query, skip=skip)
