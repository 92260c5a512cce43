#!/usr/bin/env python3
"""Key pairs and bearer tokens for the catalog's write path (docs/auth.md), for a quick try, the
local stack and the tests; a real deployment gets its tokens from its issuer.

  scripts/catalog-token.py keys DIR
      writes DIR/private.pem (PKCS#8) and DIR/public.pem: an EC P-256 pair for ES256
  scripts/catalog-token.py mint --key DIR/private.pem --issuer ISS --audience AUD --subject SUB
                                [--scope "catalog:write"] [--ttl 300] [--kid ID]
      prints a signed ES256 token valid for --ttl seconds
  scripts/catalog-token.py expires-after SECONDS < TOKEN
      exit 0 when the token on stdin expires more than SECONDS from now (its signature unchecked:
      for deciding whether a token made here needs making again)

Runs with the project's virtualenv (scripts/install-tools.sh makes .venv; started by another
Python, the script runs itself again with .venv's): PyJWT signs, cryptography makes the keys.
"""

import argparse
import os
import sys
import time
from pathlib import Path

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as missing:
    # Started by another Python than the project's: run again with the virtualenv's.
    venv_python = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    if venv_python.is_file() and sys.prefix == sys.base_prefix:
        os.execv(venv_python, [str(venv_python), __file__, *sys.argv[1:]])
    sys.exit(f"{missing}: run scripts/install-tools.sh first (it makes .venv)")


def keys(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    private_path = directory / "private.pem"
    # The private key is readable by its owner only, from the moment it exists.
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    (directory / "public.pem").write_bytes(public_pem)
    print(f"wrote {private_path} and {directory / 'public.pem'}")


def mint(args: argparse.Namespace) -> None:
    try:
        private_pem = Path(args.key).read_bytes()
    except OSError as error:
        sys.exit(f"--key: {error}")
    now = int(time.time())
    claims = {
        "iss": args.issuer,
        "aud": args.audience,
        "sub": args.subject,
        "iat": now,
        "nbf": now,
        "exp": now + args.ttl,
    }
    if args.scope:
        claims["scope"] = args.scope
    headers = {"kid": args.kid} if args.kid else None
    try:
        print(jwt.encode(claims, private_pem, algorithm="ES256", headers=headers))
    except (ValueError, TypeError, AttributeError, jwt.PyJWTError) as error:
        sys.exit(f"--key {args.key}: not an EC P-256 private key ({error})")


def expires_after(seconds: int) -> None:
    token = sys.stdin.read().strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        sys.exit(1)
    sys.exit(0 if claims.get("exp", 0) > time.time() + seconds else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keys_command = commands.add_parser("keys", help="write an EC P-256 key pair into DIR")
    keys_command.add_argument("directory", type=Path, metavar="DIR")
    mint_command = commands.add_parser("mint", help="print a signed ES256 token")
    mint_command.add_argument("--key", required=True, help="the private key (PEM)")
    mint_command.add_argument("--issuer", required=True)
    mint_command.add_argument("--audience", required=True)
    mint_command.add_argument("--subject", required=True)
    mint_command.add_argument("--scope", default="catalog:write")
    mint_command.add_argument("--ttl", type=int, default=300, help="seconds (default 300)")
    mint_command.add_argument("--kid", help="key id for the header (JWKS setups)")
    expires_command = commands.add_parser(
        "expires-after", help="exit 0 when the token on stdin outlives SECONDS from now"
    )
    expires_command.add_argument("seconds", type=int, metavar="SECONDS")
    args = parser.parse_args()
    if args.command == "keys":
        keys(args.directory)
    elif args.command == "expires-after":
        expires_after(args.seconds)
    else:
        if args.ttl <= 0:
            parser.error("--ttl must be positive")
        mint(args)


if __name__ == "__main__":
    main()
