"""Generate the sample input files (deterministic; outputs are committed).

    python sample_data/make_samples.py               # leads.csv, leads.xlsx, companies.csv, deals.csv,
                                                     # trade-fair-leads.csv
    python sample_data/make_samples.py --libreoffice # also tests/data/readers/leads.xls/.ods (soffice)

The data refers to the sandbox's demo seed (users sam@/alex@/admin@example.com, the ten
Concord lead sources, tiers Bronze/Silver/Gold/Platinum, interests Analytics/Automation/
Integrations/Reporting/Support). ``leads.csv`` is cp1252 with ``;`` separators, so its
Interests cells use ``", "`` between labels (map them with ``split: ","``).

Deliberately bad rows in leads.csv (by data line): an invalid e-mail, the unknown tier
"Diamond", the impossible date 31/02/2024, a missing first name, an e-mail repeated inside
the file, an owner who does not exist; plus one blank line and one multi-line Notes cell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
READER_FIXTURES = HERE.parent / "tests" / "data" / "readers"

LEAD_HEADERS = [
    "First Name", "Last Name", "E-mail", "Mobile", "Work Phone", "Company", "Job Title",
    "Owner", "Lead Source", "Tier", "Interests", "Signed Up", "Newsletter", "Country",
    "Budget", "Lead Score", "External ID", "Notes",
]
BAD = object()  # marker: the row after which the blank line goes

# First, Last, E-mail, Mobile, Work Phone, Company, Job Title, Owner, Source, Tier,
# Interests, Signed Up, Newsletter, Country, Budget, Lead Score, External ID, Notes
LEADS_CSV: list[tuple[str, ...] | object] = [
    ("José", "García", "jose.garcia@example.com", "+34 612 345 678", "0034 91 123 4567",
     "Acme, Inc.", "CTO", "sam@example.com", "Referrals", "gold", "Analytics, Reporting",
     "03/01/2024", "yes", "ES", "1,200.50", "87", "LEAD-0001", "Met at the Madrid fair"),
    ("Zoë", "Müller", "Zoe.Mueller@Example.com ", "0151 2345 6789", "", "Globex GmbH",
     "Head of Sales", "alex@example.com", "Web Form", " Silver ", "Automation",
     "15/01/2024", "y", "Germany", "900", "64", "LEAD-0002", 'Asked for a "quick" demo'),
    ("Lars", "Ørsted", "lars.orsted@example.com", "+45 20 12 34 56", "", "Nordlys A/S",
     "Engineer", "sam@example.com", "Organic search", "Bronze", "Integrations, Support",
     "22/01/2024", "no", "DK", "450", "35", "LEAD-0003", ""),
    ("Amélie", "Dubois", " amelie.dubois@example.com", "06 12 34 56 78", "01 42 68 53 00",
     "Initech", "Marketing Manager", "admin@example.com", "Paid search", "PLATINUM",
     "Analytics, Automation, Reporting", "01/02/2024", "x", "France", "15,000", "92",
     "LEAD-0004", "Budget approved for Q2"),
    ("Grace", "O'Brien", "grace.obrien@example.com", "087 123 4567", "", "Hooli Ltd",
     "COO", "alex@example.com", "Email marketing", "gold", "Support", "09/02/2024", "",
     "IE", "2,750.00", "71", "LEAD-0005", ""),
    ("Ada", "Lovelace", "ADA.LOVELACE@EXAMPLE.COM", "07700 900123", "020 7946 0958",
     "Analytical Engines Ltd", "Founder", "sam@example.com", "Referrals", "Platinum",
     "Analytics", "10/12/2023", "yes", "GB", "50,000", "99", "LEAD-0006",
     "Prefers e-mail;\nno calls before 10am"),
    ("Søren", "Kierkegaard", "soren.k@example.com", "+45 31 23 45 67", "", "Nordlys A/S",
     "Philosopher in residence", "alex@example.com", "Social media", "silver", "",
     "17/02/2024", "n", "Denmark", "300", "22", "LEAD-0007", ""),
    ("Ángel", "Kowalski", "angel.kowalski@example.com", "+48 601 234 567", "", "Umbrella Corp",
     "IT Director", "sam@example.com", "Direct traffic", "Gold", "Integrations",
     "29/02/2024", "yes", "PL", "4,100", "58", "LEAD-0008", ""),
    ("Mia", "Rossi", "mia.rossi@example.com", "+39 312 345 6789", "", "Stark Industries",
     "Buyer", "admin@example.com", "Paid social", "bronze", "Reporting, Support",
     "05/03/2024", "no", "Italy", "750.25", "41", "LEAD-0009", ""),
    ("Noah", "Smith", "noah.smith@example.com", "+1 (555) 010-2030", "+1 555 010 9999",
     "Globex Corporation", "VP Engineering", "alex@example.com", "Organic search", "Gold",
     "Automation, Integrations", "12/03/2024", "Yes", "US", "12,500", "80", "LEAD-0010",
     "Evaluating \"Acme\" too"),
    ("Hiro", "Nakamura", "hiro.nakamura@example.com", "090-1234-5678", "", "Yoyodyne KK",
     "Manager", "sam@example.com", "Offline Source", "Silver", "Analytics", "18/03/2024",
     "", "JP", "3,000", "55", "LEAD-0011", ""),
    ("Chloé", "Martin", "chloe.martin@example.com", "07 98 76 54 32", "", "Initech",
     "Analyst", "sam@example.com", "Web Form", " gold", "Reporting", "20/03/2024", "y",
     "FR", "600", "47", "LEAD-0012", ""),
    ("Björn", "Andersson", "bjorn.andersson@example.com", "070-123 45 67", "", "Volvo Trucks AB",
     "Fleet Manager", "alex@example.com", "Other campaigns", "Bronze", "Support",
     "25/03/2024", "no", "SE", "1,050", "30", "LEAD-0013", ""),
    ("Fatima", "Zahra", "fatima.zahra@example.com", "+44 7700 900456", "", "Acme, Inc.",
     "Procurement", "sam@example.com", "Referrals", "Silver", "Automation, Reporting",
     "02/04/2024", "x", "United Kingdom", "2,200", "66", "LEAD-0014", ""),
    ("Ingrid", "Hansen", "ingrid.hansen@example.com", "+47 912 34 567", "", "Fjord AS",
     "CEO", "admin@example.com", "Email marketing", "Platinum", "Analytics, Integrations",
     "08/04/2024", "yes", "NO", "25,000", "95", "LEAD-0015", ""),
    ("Pedro", "Alves", "pedro.alves@example.com", "+351 912 345 678", "", "Lisboa Tech Lda",
     "Developer", "alex@example.com", "Organic search", "bronze", "Integrations",
     "11/04/2024", "", "PT", "120", "18", "LEAD-0016", ""),
    ("Emma", "de Vries", "emma.devries@example.com", "06-12345678", "", "Tulip BV",
     "Operations", "sam@example.com", "Paid search", "Gold", "Automation", "15/04/2024", "n",
     "Netherlands", "5,400", "73", "LEAD-0017", ""),
    ("Liam", "Murphy", "liam.murphy@example.com", "085 765 4321", "", "Hooli Ltd",
     "Sales Rep", "sam@example.com", "Social media", "silver", "Support, Reporting",
     "19/04/2024", "yes", "IE", "800", "39", "LEAD-0018", ""),
    BAD,
    ("Sofia", "Bianchi", "sofia.bianchi@example.com", "+39 333 123 4567", "", "Stark Industries",
     "Designer", "alex@example.com", "Paid social", "Gold", "Analytics", "23/04/2024", "x",
     "IT", "1,900", "62", "LEAD-0019", ""),
    ("Tom", "Baker", "tom.baker@example", "07700 900789", "", "Baker & Sons",
     "Owner", "sam@example.com", "Direct traffic", "Bronze", "Support", "26/04/2024", "no",
     "GB", "250", "12", "LEAD-0020", "Invalid e-mail on purpose"),
    ("Elena", "Petrova", "elena.petrova@example.com", "+43 664 1234567", "", "Alpen GmbH",
     "Consultant", "alex@example.com", "Referrals", "Diamond", "Analytics", "30/04/2024",
     "yes", "AT", "3,300", "77", "LEAD-0021", "Unknown tier on purpose"),
    ("Marco", "Weber", "marco.weber@example.com", "+41 79 123 45 67", "", "Helvetia Soft AG",
     "Architect", "sam@example.com", "Web Form", "Silver", "Integrations", "31/02/2024", "y",
     "CH", "2,000", "51", "LEAD-0022", "Impossible date on purpose"),
    ("", "Nobody", "no.firstname@example.com", "", "020 7946 0000", "Globex GmbH",
     "Intern", "alex@example.com", "Other campaigns", "Bronze", "", "02/05/2024", "",
     "DE", "", "5", "LEAD-0023", "Missing first name on purpose"),
    ("Joseph", "Garcia", "Jose.Garcia@example.com", "+34 699 999 999", "", "Acme, Inc.",
     "CTO", "sam@example.com", "Referrals", "Gold", "Analytics", "06/05/2024", "yes", "ES",
     "1,200.50", "87", "LEAD-0024", "Same e-mail as line 2 on purpose"),
    ("Olivia", "Brown", "olivia.brown@example.com", "+61 412 345 678", "", "Koala Pty Ltd",
     "Head of IT", "ghost@example.com", "Organic search", "Gold", "Automation",
     "08/05/2024", "no", "AU", "6,000", "68", "LEAD-0025", "Unknown owner on purpose"),
    ("Aarav", "Sharma", "aarav.sharma@example.com", "+91 98765 43210", "", "Infotech Pvt Ltd",
     "Product Owner", "admin@example.com", "Paid search", "Silver", "Reporting, Analytics",
     "10/05/2024", "yes", "IN", "1,350", "59", "LEAD-0026", ""),
    ("Lucas", "Silva", "lucas.silva@example.com", "+55 11 91234 5678", "", "Rio Digital Ltda",
     "CEO", "sam@example.com", "Social media", "Platinum", "Analytics, Automation",
     "13/05/2024", "x", "Brazil", "18,000", "90", "LEAD-0027", ""),
    ("Camila", "López", "camila.lopez@example.com", "+52 55 1234 5678", "", "Azteca SA de CV",
     "Buyer", "alex@example.com", "Offline Source", "bronze", "Support", "16/05/2024", "",
     "MX", "400", "26", "LEAD-0028", ""),
    ("Thabo", "Nkosi", "thabo.nkosi@example.com", "+27 82 123 4567", "", "Savanna Ltd",
     "Finance Lead", "sam@example.com", "Email marketing", "Gold", "Reporting", "20/05/2024",
     "yes", "ZA", "7,250", "74", "LEAD-0029", ""),
    ("Chris", "Lee", "chris.lee@example.com", "+1 416 555 0199", "", "Maple Inc.",
     "Director", "admin@example.com", "Referrals", "Silver", "Integrations", "22/05/2024",
     "no", "CA", "2,400", "60", "LEAD-0030", ""),
    ("Aroha", "Ngata", "aroha.ngata@example.com", "+64 21 123 4567", "", "Kiwi Works Ltd",
     "Ops Manager", "alex@example.com", "Web Form", "gold", "Automation, Support",
     "24/05/2024", "y", "NZ", "3,100", "69", "LEAD-0031", ""),
    ("Jan", "Nowak", "jan.nowak@example.com", "+48 502 345 678", "", "Umbrella Corp",
     "Support Lead", "sam@example.com", "Direct traffic", "Bronze", "Support", "27/05/2024",
     "no", "Poland", "500", "33", "LEAD-0032", ""),
    ("Aino", "Virtanen", "aino.virtanen@example.com", "+358 40 123 4567", "", "Sauna Oy",
     "CTO", "admin@example.com", "Organic search", "Platinum", "Analytics, Integrations",
     "29/05/2024", "yes", "FI", "21,000", "97", "LEAD-0033", ""),
    ("Élodie", "Lambert", "elodie.lambert@example.com", "+32 470 12 34 56", "", "Brussels Data SA",
     "Data Scientist", "alex@example.com", "Paid search", "Silver", "Analytics", "31/05/2024",
     "x", "BE", "1,600", "57", "LEAD-0034", ""),
    ("Oscar", "Wilde", "oscar.wilde@example.com", "087 555 1234", "", "Hooli Ltd",
     "Writer", "sam@example.com", "Other campaigns", "gold", "Reporting", "03/06/2024", "no",
     "Ireland", "950", "44", "LEAD-0035", "Prefers post"),
    ("Greta", "Schmidt", "greta.schmidt@example.com", "0170 1234567", "030 1234567",
     "Globex GmbH", "Purchasing", "alex@example.com", "Email marketing", "Bronze",
     "Automation", "05/06/2024", "yes", "DE", "680", "38", "LEAD-0036", ""),
    ("Mateo", "Fernández", "mateo.fernandez@example.com", "+34 622 111 222", "", "Acme, Inc.",
     "Engineer", "sam@example.com", "Referrals", "Silver", "Integrations, Reporting",
     "07/06/2024", "", "Spain", "1,100", "52", "LEAD-0037", ""),
    ("Yuki", "Tanaka", "yuki.tanaka@example.com", "080-9876-5432", "", "Yoyodyne KK",
     "Analyst", "admin@example.com", "Web Form", "Gold", "Analytics, Reporting", "10/06/2024",
     "y", "Japan", "4,800", "79", "LEAD-0038", ""),
    ("Nora", "Jensen", "nora.jensen@example.com", "+45 22 33 44 55", "", "Nordlys A/S",
     "Sales Manager", "alex@example.com", "Paid social", "Silver", "Support", "12/06/2024",
     "no", "DK", "1,450", "49", "LEAD-0039", ""),
    ("Kai", "Müller-Lüdenscheidt", "kai.mueller@example.com", "0171 9876543", "",
     "Alpen GmbH", "Consultant", "sam@example.com", "Organic search", "bronze", "",
     "14/06/2024", "x", "AT", "350", "28", "LEAD-0040", ""),
]

COMPANY_HEADERS = ["Name", "Domain", "E-mail", "Industry", "Segment", "Account Number",
                   "Employees", "Phone", "Country"]
# Four of these already exist in the sandbox's demo seed under the same account numbers
# (ACC-100x): importing the file updates them (Acme Ltd becomes "Acme, Inc.") and creates the rest.
COMPANIES = [
    ("Acme, Inc.", "acme.example", "info@acme.example", "Manufacturing", "Enterprise",
     "ACC-1001", "5200", "+1 555 010 1000", "US"),
    ("Globex GmbH", "globex.example", "kontakt@globex.example", "Software", "Mid-Market",
     "00102", "480", "+49 30 1234 5000", "DE"),
    ("Initech", "initech.example", "hello@initech.example", "Software", "SMB", "ACC-1003",
     "45", "+33 1 42 68 53 00", "FR"),
    ("Hooli Ltd", "hooli.example", "sales@hooli.example", "Software", "Enterprise", "00104",
     "12000", "+353 1 555 0100", "IE"),
    ("Nordlys A/S", "nordlys.example", "post@nordlys.example", "Manufacturing", "Mid-Market",
     "00105", "310", "+45 33 12 34 56", "DK"),
    ("Umbrella Corp", "umbrella.example", "info@umbrella.example", "Healthcare", "Enterprise",
     "ACC-1004", "25000", "+48 22 123 45 67", "PL"),
    ("Stark Industries", "stark.example", "contact@stark.example", "Manufacturing",
     "Enterprise", "00107", "9000", "+39 02 1234 5678", "IT"),
    ("Globex Corporation", "globex.example", "contact@globex.example", "Finance",
     "Enterprise", "ACC-1002", "7000", "+1 555 010 2000", "United States"),
    ("Yoyodyne KK", "yoyodyne.example", "info@yoyodyne.example", "Retail", "Mid-Market",
     "00109", "650", "+81 3 1234 5678", "JP"),
    ("Tulip BV", "tulip.example", "info@tulip.example", "Retail", "SMB", "00110", "28",
     "+31 20 123 4567", "NL"),
    ("Fjord AS", "fjord.example", "post@fjord.example", "Education", "SMB", "00111", "60",
     "+47 22 12 34 56", "Norway"),
    ("Alpen GmbH", "alpen.example", "office@alpen.example", "Finance", "Mid-Market", "00112",
     "150", "+43 1 234 5678", "AT"),
]

DEAL_HEADERS = ["Deal Name", "Stage", "Pipeline", "Amount", "Close Date", "Owner", "Company",
                "Deal Type", "Status"]
DEALS = [
    ("Acme platform rollout", "Proposal Made", "Sales Pipeline", "48000.00", "2024-09-30",
     "sam@example.com", "Acme, Inc.", "New Business", "open"),
    ("Globex renewal 2024", "Closed", "Sales Pipeline", "12500", "2024-06-30",
     "alex@example.com", "Globex GmbH", "Renewal", "won"),
    ("Initech analytics add-on", "Presentation Scheduled", "Sales Pipeline", "7800.50",
     "2024-08-15", "sam@example.com", "Initech", "Upsell", "open"),
    ("Hooli enterprise deal", "Contact Made", "Sales Pipeline", "150000", "2024-12-31",
     "admin@example.com", "Hooli Ltd", "New Business", "open"),
    ("Nordlys partner referral", "Negotiation", "Partner Pipeline", "22000", "2024-10-01",
     "alex@example.com", "Nordlys A/S", "New Business", "open"),
    ("Umbrella support extension", "Closed", "Sales Pipeline", "9600", "2024-05-31",
     "sam@example.com", "Umbrella Corp", "Renewal", "lost"),
    ("Stark seats upsell", "Qualified To Buy", "Sales Pipeline", "3400", "2024-07-20",
     "sam@example.com", "Stark Industries", "Upsell", "open"),
    ("Yoyodyne pilot", "Qualified To Buy", "Partner Pipeline", "5000", "2024-11-15",
     "admin@example.com", "Yoyodyne KK", "New Business", "open"),
    ("Tulip starter plan", "Appointment Scheduled", "Sales Pipeline", "1200", "2024-07-05",
     "alex@example.com", "Tulip BV", "New Business", "open"),
    ("Fjord campus licence", "Closed", "Partner Pipeline", "18000", "2024-04-30",
     "alex@example.com", "Fjord AS", "Renewal", "won"),
]


# A trade-fair lead list: one row per person met, with the company, the deal (one product line
# per row: rows of one deal repeat its name and stage), a note and a follow-up task. Imported in
# one run with mappings/trade-fair.yaml (a `records:` mapping). Companies and deals appear on
# several rows; Northwind Traders and the products' SKUs exist in the demo seed.
TRADE_FAIR_HEADERS = [
    "Company", "Website", "First Name", "Last Name", "Email", "Phone", "Job Title", "Deal",
    "Stage", "Product SKU", "Qty", "Discount %", "Notes", "Follow-up", "Follow-up Date",
]
TRADE_FAIR = [
    ("Brightwave Logistics", "brightwave.example", "Maria", "Lopez",
     "maria.lopez@brightwave.example", "+44 20 7946 0101", "Head of Operations",
     "Brightwave fleet CRM", "Proposal Made", "CC-SEAT", "25", "10",
     "Met at booth B12; wants a demo for 25 dispatchers", "Send demo invite", "2025-03-10"),
    ("Brightwave Logistics", "", "Tom", "Becker", "tom.becker@brightwave.example",
     "+44 20 7946 0102", "IT Manager", "Brightwave fleet CRM", "Proposal Made", "ONB-1", "1", "",
     "Asked about single sign-on", "Call about SSO", "2025-03-12 14:00"),
    ("Northwind Traders", "northwind.example", "Ines", "Moreau", "ines.moreau@northwind.example",
     "+33 1 70 36 00 01", "Purchasing Lead", "Northwind expansion", "Presentation Scheduled",
     "SUP-PREM", "12", "", "Current customer; expanding to the Lyon office",
     "Prepare renewal quote", "2025-03-14"),
    ("Solstice Foods", "solstice.example", "Kenji", "Sato", "kenji.sato@solstice.example",
     "+81 3 5555 0140", "Sales Director", "", "", "", "", "",
     "Interested, no budget before Q3", "Check in about Q3 budget", "2025-06-02"),
    ("Solstice Foods", "", "Aiko", "Tanaka", "aiko.tanaka@solstice.example", "+81 3 5555 0141",
     "Marketing Analyst", "", "", "", "", "", "", "", ""),
    ("Kestrel Analytics", "kestrel.example", "Priya", "Nair", "priya.nair@kestrel.example",
     "+91 80 5555 0199", "CTO", "Kestrel analytics rollout", "Proposal Made", "CC-SEAT", "40",
     "15", "Wants analytics for 40 users; decision in April", "Send proposal", "2025-03-11"),
    ("Kestrel Analytics", "", "Priya", "Nair", "priya.nair@kestrel.example", "+91 80 5555 0199",
     "CTO", "Kestrel analytics rollout", "Proposal Made", "ANA-ADD", "40", "15", "", "", ""),
    ("", "", "Lena", "Fischer", "lena.fischer@freelance.example", "+49 30 5555 0177",
     "Independent consultant", "", "", "", "", "", "Could refer two logistics clients",
     "Intro call", "2025-03-13 09:30"),
]


def _quote(cell: str, delimiter: str) -> str:
    """Quote like a spreadsheet export does (and also around commas, as many tools do)."""
    if any(ch in cell for ch in (delimiter, ",", '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_text(headers: list[str], rows: list, delimiter: str) -> str:
    lines = [delimiter.join(_quote(h, delimiter) for h in headers)]
    for row in rows:
        if row is BAD:
            lines.append("")                       # the blank line in the middle
            continue
        lines.append(delimiter.join(_quote(c, delimiter) for c in row))
    return "\r\n".join(lines) + "\r\n"


def write_csvs(out: Path) -> None:
    (out / "leads.csv").write_bytes(_csv_text(LEAD_HEADERS, LEADS_CSV, ";").encode("cp1252"))
    companies = _csv_text(COMPANY_HEADERS, COMPANIES, ",")
    (out / "companies.csv").write_bytes(companies.encode("utf-8-sig"))
    (out / "deals.csv").write_bytes(_csv_text(DEAL_HEADERS, DEALS, ",").encode("utf-8"))
    fair = _csv_text(TRADE_FAIR_HEADERS, TRADE_FAIR, ",")
    (out / "trade-fair-leads.csv").write_bytes(fair.encode("utf-8"))


def _xlsx_rows() -> list[list[object]]:
    """~25 leads with typed cells: real dates, numbers, phones as text; two bad rows."""
    names = [
        ("Anna", "Schneider", "DE", "Globex GmbH"), ("Pierre", "Lefèvre", "FR", "Initech"),
        ("Giulia", "Conti", "IT", "Stark Industries"), ("Sean", "Kelly", "IE", "Hooli Ltd"),
        ("Freja", "Nielsen", "DK", "Nordlys A/S"), ("Marta", "Wiśniewska", "PL", "Umbrella Corp"),
        ("Ethan", "Johnson", "US", "Globex Corporation"), ("Sakura", "Ito", "JP", "Yoyodyne KK"),
        ("Daan", "Bakker", "NL", "Tulip BV"), ("Sigrid", "Berg", "NO", "Fjord AS"),
        ("Lena", "Gruber", "AT", "Alpen GmbH"), ("Oliver", "Taylor", "GB", "Acme, Inc."),
        ("Inês", "Costa", "PT", "Lisboa Tech Lda"), ("Lucía", "Martínez", "ES", "Acme, Inc."),
        ("Noé", "Girard", "CH", "Helvetia Soft AG"), ("Maja", "Lindqvist", "SE", "Volvo Trucks AB"),
        ("Jack", "Wilson", "AU", "Koala Pty Ltd"), ("Ruby", "Clarke", "NZ", "Kiwi Works Ltd"),
        ("Rahul", "Mehta", "IN", "Infotech Pvt Ltd"), ("Gabriel", "Souza", "BR", "Rio Digital Ltda"),
        ("Valentina", "Cruz", "MX", "Azteca SA de CV"), ("Sipho", "Dlamini", "ZA", "Savanna Ltd"),
        ("Emily", "Tremblay", "CA", "Maple Inc."), ("Eero", "Laine", "FI", "Sauna Oy"),
        ("Claire", "Peeters", "BE", "Brussels Data SA"),
    ]
    owners = ["sam@example.com", "alex@example.com", "admin@example.com"]
    sources = ["Web Form", "Referrals", "Organic search", "Paid search", "Email marketing"]
    tiers = ["Gold", "silver", "Bronze", "PLATINUM", " Silver "]
    interests = ["Analytics", "Automation, Reporting", "Integrations", "Support", ""]
    newsletter = ["yes", "no", "x", "", "y"]
    rows: list[list[object]] = []
    for i, (first, last, country, company) in enumerate(names):
        email = f"{_ascii(first)}.{_ascii(last)}@example.com".lower()
        rows.append([
            first, last, email, f"0{7700900100 + i}", "" if i % 3 else f"020 7946 {1000 + i}",
            company, "Manager" if i % 2 else "Director", owners[i % 3], sources[i % 5],
            tiers[i % 5], interests[i % 5], dt.date(2024, 1 + i % 12, 1 + (i * 7) % 28),
            newsletter[i % 5], country, 500 + i * 250.5 if i % 2 else 1000 + i * 100,
            10 + (i * 13) % 90, f"XL-{i + 1:04d}", "",
        ])
    rows[6][2] = "ethan.johnson(at)example.com"        # bad: invalid e-mail
    rows[6][17] = "Invalid e-mail on purpose"
    rows[15][11] = "31/02/2024"                        # bad: a text date that does not exist
    rows[15][17] = "Text cell with an impossible date on purpose"
    return rows


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii())


def write_xlsx(path: Path) -> None:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    sheet.append(LEAD_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in _xlsx_rows():
        sheet.append([None if v == "" else v for v in row])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "DD/MM/YYYY"
            elif cell.column_letter in ("D", "E", "Q"):
                cell.number_format = "@"                # phones and ids as text cells
    sheet.freeze_panes = "A2"
    book.properties.creator = "concord-etl sample generator"
    fixed = dt.datetime(2024, 6, 1, 12, 0, 0)
    book.properties.created = book.properties.modified = fixed
    book.save(path)
    _normalise_zip(path)


def _normalise_zip(path: Path) -> None:
    """Make the .xlsx byte-for-byte reproducible: fixed entry times and document dates."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    stamp = b"2024-06-01T12:00:00Z"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp, data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 6, 1, 12, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)


def write_libreoffice_variants(xlsx: Path, out: Path) -> list[Path]:
    """Convert ``xlsx`` with LibreOffice to .xls and .ods (needs ``soffice`` on PATH)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise SystemExit("soffice not found: install LibreOffice or skip --libreoffice")
    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as profile:
        for fmt in ("xls", "ods"):
            subprocess.run(
                [soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                 "--convert-to", fmt, "--outdir", str(out), str(xlsx)],
                check=True, capture_output=True, timeout=180,
            )
            made.append(out / f"{xlsx.stem}.{fmt}")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate sample_data/ files.")
    parser.add_argument("--libreoffice", action="store_true",
                        help="also write tests/data/readers/leads.xls and leads.ods")
    args = parser.parse_args(argv)
    write_csvs(HERE)
    write_xlsx(HERE / "leads.xlsx")
    written = ["leads.csv", "leads.xlsx", "companies.csv", "deals.csv", "trade-fair-leads.csv"]
    if args.libreoffice:
        written += [str(p) for p in write_libreoffice_variants(HERE / "leads.xlsx",
                                                               READER_FIXTURES)]
    sys.stdout.write("wrote " + ", ".join(written) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
