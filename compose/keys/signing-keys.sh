#!/bin/sh
# The keys service: runs one `manage.py signing_keys` action (default: ensure) on the keyring volume
# (JWT_KEYS_DIR), then publishes the keyring's public half (public/*.pem, jwks.json) into the volume the
# todo service reads (PUBLIC_KEYS_DIR). Private keys never leave the keyring volume.
set -eu

: "${JWT_KEYS_DIR:?JWT_KEYS_DIR must be set}"
: "${PUBLIC_KEYS_DIR:?PUBLIC_KEYS_DIR must be set}"

if [ "$#" -eq 0 ]; then
    set -- ensure
fi
# System checks are the auth service's business at its own start; this one-shot only manages files.
python manage.py signing_keys --skip-checks "$@"

# Public keys first, jwks.json last and by rename: a reader sees the old set or the new one, never half.
mkdir -p "$PUBLIC_KEYS_DIR/public"
staging=$(mktemp -d "$PUBLIC_KEYS_DIR/.staging.XXXXXX")
trap 'rm -rf "$staging"' EXIT
cp "$JWT_KEYS_DIR"/public/*.pem "$staging/"
chmod 0644 "$staging"/*.pem
for pem in "$staging"/*.pem; do
    mv -f "$pem" "$PUBLIC_KEYS_DIR/public/"
done
# Keys pruned from the keyring leave the published set too.
for pem in "$PUBLIC_KEYS_DIR"/public/*.pem; do
    [ -e "$JWT_KEYS_DIR/public/$(basename "$pem")" ] || rm -f "$pem"
done
cp "$JWT_KEYS_DIR/jwks.json" "$staging/jwks.json"
chmod 0644 "$staging/jwks.json"
mv -f "$staging/jwks.json" "$PUBLIC_KEYS_DIR/jwks.json"
echo "published $(ls "$PUBLIC_KEYS_DIR/public" | wc -l) public key(s) to $PUBLIC_KEYS_DIR"
