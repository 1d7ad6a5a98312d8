"""Request parameters for the stand-in, checked the way Stripe checks them.

The allowed names and shapes come from the TypedDicts the stripe library ships (generated from
Stripe's OpenAPI description), e.g. stripe.params.checkout.SessionCreateParams, not from a list
written by hand. Values arrive form-encoded with Stripe's nesting: a[b][0][c]=v.
"""

import re
import sys
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from urllib.parse import parse_qsl

from stripe._request_options import RequestOptions
from stripe._stripe_object import UntypedStripeObject
from typing_extensions import is_typeddict

from core.money import STRIPE_CURRENCIES

REQUEST_OPTION_KEYS = set(RequestOptions.__annotations__)
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_INT_RE = re.compile(r"^-?\d+$")
_NUM_RE = re.compile(r"^-?\d+(\.\d+)?$")


# Stripe's presentment currencies: one list for the site and the stand-in (core.money).
SUPPORTED_CURRENCIES = STRIPE_CURRENCIES
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


class ParamError(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


# ------------------------------------------------------------------------------------------------
# Decoding
# ------------------------------------------------------------------------------------------------
def _listify(value):
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    elif isinstance(value, list):
        return [_listify(v) for v in value]
    return value


def decode_form(raw: str) -> dict:
    """Stripe's form encoding to nested dicts and lists: a[b][0][c]=v, a[]=v, a[0]=v."""
    root: dict = {}
    for key, value in parse_qsl(raw, keep_blank_values=True, strict_parsing=False):
        match = _KEY_RE.match(key)
        if not match:
            raise ParamError(f"Invalid parameter name: {key}", key)
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                # a[]=v appends: kept as a dict with the next numeric key.
                part = str(len(node))
            if last:
                if part in node:
                    raise ParamError(f"Received duplicate parameter: {key}", key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ParamError(f"Invalid parameter: {key}", key)
                node = child
    return _listify(root)


# ------------------------------------------------------------------------------------------------
# Schema from the library's TypedDicts
# ------------------------------------------------------------------------------------------------
def _hints(cls) -> dict:
    module = sys.modules[cls.__module__]
    namespace = {**vars(module), "StripeContext": object, "Mapping": Mapping}
    return typing.get_type_hints(cls, globalns=namespace)


@cache
def fields_of(cls) -> dict:
    """Parameter name -> type for a TypedDict, without the request options (api_key...)."""
    return {name: hint for name, hint in _hints(cls).items() if name not in REQUEST_OPTION_KEYS}


def _check_scalar(value, hint, path: str) -> None:
    if not isinstance(value, str):
        raise ParamError(f"Invalid value for {path}: expected a single value.", path)
    if hint is bool and value not in {"true", "false"}:
        raise ParamError(f"Invalid boolean: {value}", path)
    if hint is int and not _INT_RE.match(value):
        raise ParamError(f"Invalid integer: {value}", path, "parameter_invalid_integer")
    if hint in (float, Decimal) and not _NUM_RE.match(value):
        raise ParamError(f"Invalid decimal: {value}", path)


def check(value, hint, path: str) -> None:
    """Raise ParamError, like Stripe's 400, when `value` does not fit the type `hint`."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is typing.Any or hint is object:
        return
    if value == "":
        if _allows_empty(hint):
            return  # Stripe's way to unset a value; the types say where it is allowed
        raise ParamError(
            f"You passed an empty string for '{path}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{path}' cannot be unset. You should remove '{path}' "
            "from your request or supply a non-empty value.",
            path,
            "parameter_invalid_empty",
        )
    if is_typeddict(hint):
        if not isinstance(value, dict):
            raise ParamError(f"Invalid object: {path} must be a hash.", path)
        fields = fields_of(hint)
        for name, sub in value.items():
            sub_path = f"{path}[{name}]" if path else name
            if name not in fields:
                raise ParamError(
                    f"Received unknown parameter: {sub_path}", sub_path, "parameter_unknown"
                )
            check(sub, fields[name], sub_path)
            if name in FIELD_RULES:
                FIELD_RULES[name](sub, sub_path)
        for name in sorted(hint.__required_keys__ - set(value) - REQUEST_OPTION_KEYS):
            sub_path = f"{path}[{name}]" if path else name
            raise ParamError(f"Missing required param: {sub_path}.", sub_path, "parameter_missing")
        return
    if origin is list:
        if not isinstance(value, list):
            raise ParamError(f"Invalid array: {path} must be an array.", path)
        for index, item in enumerate(value):
            check(item, args[0] if args else typing.Any, f"{path}[{index}]")
        return
    if origin is dict or hint is UntypedStripeObject or origin is UntypedStripeObject:
        if not isinstance(value, dict):
            raise ParamError(f"Invalid hash: {path} must be a hash.", path)
        for key, item in value.items():
            if not isinstance(item, str):
                raise ParamError(f"Invalid value for {path}[{key}].", f"{path}[{key}]")
        return
    if origin is typing.Literal:
        if value not in args:
            raise _not_one_of(path, args)
        return
    if origin in (typing.Union, types.UnionType):
        # The library writes an enum as `Literal[...]|str` so that new values do not break old
        # clients; the API itself accepts only the listed ones.
        allowed = [v for a in args if typing.get_origin(a) is typing.Literal for v in a.__args__]
        if str in args and isinstance(value, str) and any(v != "" for v in allowed):
            if value not in allowed:
                raise _not_one_of(path, allowed)
            return
        errors = []
        # Try the shapes that match what arrived first, so the error message is the useful one.
        ordered = sorted(args, key=lambda a: 0 if _shape_matches(value, a) else 1)
        for option in ordered:
            try:
                check(value, option, path)
            except ParamError as exc:
                errors.append(exc)
            else:
                return
        raise errors[0]
    if hint is type(None):
        raise ParamError(f"Invalid value for {path}.", path)
    _check_scalar(value, hint, path)


def _allows_empty(hint) -> bool:
    if hint is typing.Any or hint is object:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_allows_empty(option) for option in typing.get_args(hint))
    return typing.get_origin(hint) is typing.Literal and "" in typing.get_args(hint)


def _not_one_of(path: str, allowed) -> ParamError:
    """Stripe's words for a value outside an enum (it sends no error code with them)."""
    values = [str(v) for v in allowed if v != ""]
    if len(values) < 3:
        listed = " or ".join(values)
    else:
        listed = ", ".join(values[:-1]) + f", or {values[-1]}"
    return ParamError(f"Invalid {path}: must be one of {listed}", path)


def _check_currency(value, path: str) -> None:
    if isinstance(value, str) and value.lower() not in SUPPORTED_CURRENCIES:
        raise ParamError(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(SUPPORTED_CURRENCIES),
            path,
        )


def _check_metadata(value, path: str) -> None:
    """Stripe's limits on every object's metadata, in Stripe's words."""
    if not isinstance(value, dict):
        return
    if len(value) > METADATA_MAX_KEYS:
        raise ParamError(
            f"Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {len(value)}",
            path,
        )
    for key, item in value.items():
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise ParamError(
                f"Metadata keys can have up to {METADATA_MAX_KEY_LENGTH} characters, but you "
                f"passed in a key that is {len(key)} characters. Invalid key: {key}",
                path,
            )
        if isinstance(item, str) and len(item) > METADATA_MAX_VALUE_LENGTH:
            raise ParamError(
                f"Metadata values can have up to {METADATA_MAX_VALUE_LENGTH} characters, but you "
                f"passed in a value that is {len(item)} characters. Invalid value: {item}",
                path,
            )


# Rules Stripe applies to a parameter by its name wherever it appears, beyond its type.
FIELD_RULES = {"currency": _check_currency, "metadata": _check_metadata}


def _shape_matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if isinstance(value, dict):
        return is_typeddict(hint) or origin is dict or hint is UntypedStripeObject
    if isinstance(value, list):
        return origin is list
    return not (is_typeddict(hint) or origin in (list, dict))


def validate(params: dict, params_type) -> None:
    """Check every name and shape in `params` against a stripe.params TypedDict."""
    check(params, params_type, "")
