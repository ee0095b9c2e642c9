"""bcrypt password hashes and the password policy.

bcrypt reads at most 72 bytes (bcrypt 5 refuses longer input), so the password is first reduced to
a fixed-length SHA-256 digest in base64; long passphrases keep all of their strength.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

import bcrypt
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 1024
MIN_SCORE = 3  # zxcvbn's 0–4: 3 is "safely unguessable" (about 10^8 guesses and more)
SCORED_LENGTH = 72  # zxcvbn's own cap; anything longer than this is already strong
# zxcvbn explains a weak password in English only; its complete list of phrases, in Russian.
RUSSIAN_FEEDBACK = {
    "Use a few words, avoid common phrases.": _l("Возьмите несколько слов, но не расхожую фразу."),
    "No need for symbols, digits, or uppercase letters.": _l(
        "Символы, цифры и заглавные буквы не обязательны."
    ),
    "Add another word or two. Uncommon words are better.": _l(
        "Добавьте ещё одно-два слова, лучше редких."
    ),
    "Straight rows of keys are easy to guess.": _l("Подряд идущие клавиши легко угадать."),
    "Short keyboard patterns are easy to guess.": _l("Короткие узоры на клавиатуре легко угадать."),
    "Use a longer keyboard pattern with more turns.": _l(
        "Узор на клавиатуре нужен длиннее и с поворотами."
    ),
    'Repeats like "aaa" are easy to guess.': _l("Повторы вроде «ааа» легко угадать."),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': _l(
        "Повторы вроде «абвабваб» угадать почти так же легко, как «абв»."
    ),
    "Avoid repeated words and characters.": _l("Не повторяйте слова и символы."),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        "Последовательности вроде abc или 6543 легко угадать."
    ),
    "Avoid sequences.": _l("Не используйте последовательности."),
    "Recent years are easy to guess.": _l("Недавние годы легко угадать."),
    "Avoid recent years.": _l("Не используйте недавние годы."),
    "Avoid years that are associated with you.": _l("Не используйте годы, связанные с вами."),
    "Dates are often easy to guess.": _l("Даты часто легко угадать."),
    "Avoid dates and years that are associated with you.": _l(
        "Не используйте даты и годы, связанные с вами."
    ),
    "This is a top-10 common password.": _l("Это один из 10 самых частых паролей."),
    "This is a top-100 common password.": _l("Это один из 100 самых частых паролей."),
    "This is a very common password.": _l("Это очень распространённый пароль."),
    "This is similar to a commonly used password.": _l("Это похоже на распространённый пароль."),
    "A word by itself is easy to guess.": _l("Одно слово само по себе легко угадать."),
    "Names and surnames by themselves are easy to guess.": _l(
        "Имена и фамилии сами по себе легко угадать."
    ),
    "Common names and surnames are easy to guess.": _l(
        "Распространённые имена и фамилии легко угадать."
    ),
    "Capitalization doesn't help very much.": _l("Заглавная буква почти не помогает."),
    "All-uppercase is almost as easy to guess as all-lowercase.": _l(
        "Всё заглавными угадать почти так же легко, как всё строчными."
    ),
    "Reversed words aren't much harder to guess.": _l(
        "Слово задом наперёд угадать ненамного сложнее."
    ),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": _l(
        "Предсказуемые замены вроде «@» вместо «а» почти не помогают."
    ),
}
# zxcvbn's list is English-centred; these are the usual Russian ones (ЙЦУКЕН is QWERTY's twin).
COMMON_RUSSIAN = (
    "пароль",
    "пароль123",
    "йцукен",
    "йцукенгш",
    "йцукенгшщз",
    "любовь",
    "наташа",
    "привет",
    "1q2w3e4r",
    "zaq12wsx",
    "qwertyuiop",
    "gfhjkm",  # "пароль" typed on a Latin layout
)


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(_prehash(password), password_hash.encode())


def generate_password() -> str:
    return secrets.token_urlsafe(15)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(COMMON_RUSSIAN)


def password_problem(password: str, email: str = ""):
    """What is wrong with a new password (a message naming the field), or None."""
    if len(password) < MIN_LENGTH:
        return _l("Пароль: не короче %(n)s символов", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Пароль: не длиннее %(n)s символов", n=MAX_LENGTH)
    if password.casefold() in _common_passwords():
        return _l("Пароль: слишком распространённый, его легко угадать")
    if email and password.strip().casefold() == email.strip().casefold():
        return _l("Пароль: не должен совпадать с email")
    return _weakness(password, email)


def _weakness(password: str, email: str):
    """zxcvbn's verdict below MIN_SCORE, with its advice in Russian."""
    inputs = [email, email.partition("@")[0]] if email else []
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=inputs)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    advice = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
    said = " ".join(str(RUSSIAN_FEEDBACK.get(line, "")) for line in advice if line).strip()
    return _l(
        "Пароль: слишком простой, его легко подобрать. %(advice)s",
        advice=said or _l("Добавьте ещё одно-два слова, лучше редких."),
    )
