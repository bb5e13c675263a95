"""Replace personal data (e-mail addresses, public IP addresses, phone numbers) with placeholders.

FineWeb's last stage replaces e-mails and public IPs (datatrove ``PIIFormatter``, ``reference/pipeline-anchors.md``
§3.2); ROOTS redacts e-mails and IP addresses among other tags (§2.5). Phone numbers are off in the presets that
follow those papers and available as an option.

Rules (regexes, so precise forms only; the tests show what is and is not caught):

- **E-mail**: ``local@domain.tld`` with an RFC 5322-ish local part and a dotted domain whose last label has 2+
  letters.
- **IP address**: dotted-quad IPv4 (octets 0-255, not part of a longer dotted number like ``1.2.3.4.5`` or a
  version string ``v1.2.3.4``) and IPv6 (full or ``::``-compressed, validated by ``ipaddress``). Only **public**
  addresses are replaced: ``ipaddress``'s ``is_global`` must be true, which leaves private (10/8, 172.16/12,
  192.168/16, fc00::/7), loopback, link-local, shared (100.64/10), documentation (192.0.2/24, 198.51.100/24,
  203.0.113/24, 2001:db8::/32) and reserved ranges alone, and multicast is left too. A private address identifies
  no one outside its network.
- **Phone number**: international ``+CC`` numbers (``+44 20 7946 0958``, ``+1-202-555-0143``, ``+49 (0)30
  1234567``), parenthesised area codes (``(202) 555-0143``) and ``ddd-ddd-dddd`` / ``ddd.ddd.dddd``; 9-15 digits
  in all, not glued to other digits or letters. Bare digit runs are never phone numbers (they are too often IDs,
  prices or years).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from refinedweb.data.step import Formatter, StepConfig
from refinedweb.registry import register

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_IPV4_RE = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)"
)
# Cheap pre-checks: patterns that start with a plain character class let ``re`` skip ahead fast, so most texts
# (which hold no address at all) never run the full patterns with their look-behinds.
_IPV4_HINT_RE = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
_IPV6_HINT_RE = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,8}){1,4}"  # international
    r"|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"  # (area) local
    r"|\d{3}([-.])\d{3}\1\d{4}"  # ddd-ddd-dddd or ddd.ddd.dddd
    r")(?![\w])"
)


@dataclasses.dataclass
class PIIConfig(StepConfig):
    email_placeholder: str | None = "email@example.com"
    """Replacement for e-mail addresses; ``null`` leaves them."""
    ip_placeholder: str | None = "0.0.0.0"
    """Replacement for public IP addresses; ``null`` leaves them."""
    phone_placeholder: str | None = None
    """Replacement for phone numbers, e.g. ``"<PHONE>"``; ``null`` (the default) leaves them."""


@register("pii")
class PIIFormatter(Formatter):
    """Replace e-mails, public IPs and phone numbers (rules in the module docstring) with placeholders.

    Counts replacements per type in ``stats.counters`` (``email``, ``ip``, ``phone``). Never drops a document
    unless its text becomes empty (``empty``), which a replacement cannot cause.
    """

    Config = PIIConfig
    config: PIIConfig

    def format(self, text: str) -> str:
        cfg = self.config
        counters = self.stats.counters
        if cfg.email_placeholder is not None and "@" in text:
            text, n = _EMAIL_RE.subn(cfg.email_placeholder, text)
            counters["email"] += n
        if cfg.ip_placeholder is not None:
            text = self._replace_ips(text, cfg.ip_placeholder)
        if cfg.phone_placeholder is not None:
            text = _PHONE_RE.sub(self._phone(cfg.phone_placeholder), text)
        return text

    def _replace_ips(self, text: str, placeholder: str) -> str:
        def replace(match: re.Match) -> str:
            try:
                address = ipaddress.ip_address(match.group(0))
            except ValueError:
                return match.group(0)
            if not address.is_global or address.is_multicast:
                return match.group(0)
            self.stats.counters["ip"] += 1
            return placeholder

        if _IPV4_HINT_RE.search(text):
            text = _IPV4_RE.sub(replace, text)
        if ("::" in text or text.count(":") >= 7) and _IPV6_HINT_RE.search(text):
            text = _IPV6_RE.sub(replace, text)
        return text

    def _phone(self, placeholder: str):
        def replace(match: re.Match) -> str:
            digits = sum(ch.isdigit() for ch in match.group(0))
            if not 9 <= digits <= 15:
                return match.group(0)
            self.stats.counters["phone"] += 1
            return placeholder

        return replace
