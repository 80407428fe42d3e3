#!/bin/sh
# One-shot set-up of the object store for deploy/compose.yaml, run with the MinIO client `mc`.
# Idempotent: safe to run on every `docker compose up`.
#
# 1. creates the evidence bucket (private, versioned, so an overwritten or deleted object can be
#    recovered by the store's administrator);
# 2. creates the vault's own S3 identity, allowed only object reads, writes, deletes and listing
#    in that bucket: the vault never holds the store's root credentials.
set -eu

die() {
    echo "minio-init: $*" >&2
    exit 1
}

for name in MINIO_ROOT_USER MINIO_ROOT_PASSWORD S3_BUCKET VAULT_S3_ACCESS_KEY VAULT_S3_SECRET_KEY; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || die "$name is empty: set it in deploy/compose.env"
    case "$value" in
        *CHANGE-ME*) die "$name still holds the placeholder from compose.env.example: set a real value" ;;
    esac
done
[ "${#VAULT_S3_SECRET_KEY}" -ge 16 ] || die "VAULT_S3_SECRET_KEY is shorter than 16 characters"

endpoint="${MINIO_ENDPOINT:-http://minio:9000}"
tries=0
until mc alias set store "$endpoint" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || die "cannot reach the object store at $endpoint"
    sleep 2
done

mc mb --ignore-existing "store/$S3_BUCKET"
mc anonymous set none "store/$S3_BUCKET"
mc version enable "store/$S3_BUCKET"

policy=/tmp/custos-vault-policy.json
cat >"$policy" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$S3_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$S3_BUCKET/*"]
    }
  ]
}
EOF
mc admin policy create store custos-vault "$policy"
mc admin user add store "$VAULT_S3_ACCESS_KEY" "$VAULT_S3_SECRET_KEY"
# Attaching an already attached policy is reported as an error: accept it when the user has it.
if ! mc admin policy attach store custos-vault --user "$VAULT_S3_ACCESS_KEY" 2>/dev/null; then
    mc admin user info store "$VAULT_S3_ACCESS_KEY" | grep -q custos-vault \
        || die "cannot attach the custos-vault policy to $VAULT_S3_ACCESS_KEY"
fi
echo "minio-init: bucket $S3_BUCKET and vault identity $VAULT_S3_ACCESS_KEY ready"
