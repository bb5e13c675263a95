import pytest

from refinedweb.data.pii import PIIFormatter
from refinedweb.document import Document


def fmt(text, **options):
    step = PIIFormatter.from_dict(options)
    return step.format(text), dict(step.stats.counters)


def test_emails_are_replaced():
    text, counts = fmt("Write to john.doe+news@mail.example.co.uk or ADMIN@Site.ORG, not to @handle or a@b.")
    assert text == "Write to email@example.com or email@example.com, not to @handle or a@b."
    assert counts == {"email": 2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DNS 8.8.8.8 and 1.1.1.1.", "DNS 0.0.0.0 and 0.0.0.0."),
        ("LAN 192.168.1.10, 10.0.0.1, 172.16.5.4, loopback 127.0.0.1", "LAN 192.168.1.10, 10.0.0.1, 172.16.5.4, loopback 127.0.0.1"),
        ("docs 203.0.113.5 and multicast 224.0.0.1", "docs 203.0.113.5 and multicast 224.0.0.1"),
        ("version v1.2.3.4 and 1.2.3.4.5 and 999.1.1.1", "version v1.2.3.4 and 1.2.3.4.5 and 999.1.1.1"),
        ("v6 2606:4700:4700::1111 but not fe80::1 or ::1 or 12:30:45", "v6 0.0.0.0 but not fe80::1 or ::1 or 12:30:45"),
    ],
)
def test_only_public_ips_are_replaced(text, expected):
    assert fmt(text)[0] == expected


def test_phone_numbers_only_when_enabled():
    text = "Call +44 20 7946 0958, (202) 555-0143, 202-555-0143 or +49 (0)30 1234567."
    assert fmt(text)[0] == text
    out, counts = fmt(text, phone_placeholder="<PHONE>")
    assert out == "Call <PHONE>, <PHONE>, <PHONE> or <PHONE>."
    assert counts == {"phone": 4}


def test_numbers_that_are_not_phones_are_left():
    text = "In 2019 2020 2021 we sold 1234567890 units; ISBN 978-3-16-148410-0; on 2023-01-15 at 3.50 each."
    assert fmt(text, phone_placeholder="<PHONE>")[0] == text


def test_step_counts_per_type_and_keeps_ids(run_step):
    docs = [
        Document("a", "Mail me at jane@example.org from 8.8.4.4"),
        Document("b", "Nothing personal here."),
    ]
    step = PIIFormatter.from_dict({"ip_placeholder": "<IP>"})
    kept = run_step(step, docs)
    assert [d.text for d in kept] == ["Mail me at email@example.com from <IP>", "Nothing personal here."]
    assert step.stats.counters == {"email": 1, "ip": 1}
