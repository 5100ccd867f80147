"""Read tokens: recognisable, self-checking, stored only as a hash.

Format: ``tvt_`` + 30 random base62 characters (178 bits) + a 6-character base62
CRC32 of the random part, the way GitHub builds its ``ghp_`` tokens. The prefix
lets secret scanners spot a leaked token; the checksum refuses a mistyped one
without a database lookup. SHA-256 is the right hash for a random secret of this
length: there is nothing to brute-force, so a slow password hash buys nothing.
"""

import hashlib
import secrets
import string
import zlib

PREFIX = "tvt_"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
ALPHABET = string.digits + string.ascii_letters
TOKEN_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
DISPLAY_LENGTH = len(PREFIX) + 6


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def _checksum(random_part: str) -> str:
    return _base62(zlib.crc32(random_part.encode()), CHECKSUM_LENGTH)


def token_generate() -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{PREFIX}{random_part}{_checksum(random_part)}"


def token_is_well_formed(token: str) -> bool:
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIX):
        return False
    body = token[len(PREFIX) :]
    random_part, checksum = body[:RANDOM_LENGTH], body[RANDOM_LENGTH:]
    if any(character not in ALPHABET for character in body):
        return False
    return secrets.compare_digest(checksum, _checksum(random_part))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[:DISPLAY_LENGTH]
