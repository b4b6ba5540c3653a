#!/bin/sh
# Start SeaweedFS as the compose stack's S3 store: master + volume + filer + S3 gateway in one
# process, data under /data. Run as the s3 service's entrypoint (see docker-compose.yml).
#
# The S3 credentials come from the environment (S3_ACCESS_KEY / S3_SECRET_KEY, set in .env), so
# no key is ever written into the repository: this script renders SeaweedFS's identity file
# from them at start-up, inside the container only. With an identity file present, SeaweedFS
# refuses unsigned and wrongly signed requests (there is no anonymous identity).
# It then hands over to the image's own /entrypoint.sh, which (in current images) fixes the
# ownership of /data and drops root for the `seaweed` user before starting weed.
set -eu

: "${S3_ACCESS_KEY:?set S3_ACCESS_KEY in .env}"
: "${S3_SECRET_KEY:?set S3_SECRET_KEY in .env}"

# The keys are pasted into JSON below: allow only characters that need no escaping
# (what `openssl rand -hex 32` or an AWS-style key produces).
case "${S3_ACCESS_KEY}${S3_SECRET_KEY}" in
    *[!A-Za-z0-9_+/=.-]*)
        echo "seaweedfs-start: S3_ACCESS_KEY and S3_SECRET_KEY may only use A-Z a-z 0-9 _ + / = . -" >&2
        exit 64
        ;;
esac

config=/tmp/saekdam-s3.json
umask 077
cat > "$config" <<JSON
{
  "identities": [
    {
      "name": "saekdam",
      "credentials": [{"accessKey": "${S3_ACCESS_KEY}", "secretKey": "${S3_SECRET_KEY}"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
JSON

# The image's entrypoint runs weed as `seaweed` when that user exists: let it read the file.
if id seaweed >/dev/null 2>&1; then
    chown seaweed "$config"
fi

# The entrypoint's `server` mode adds -dir=/data and its own volume defaults; flags given here
# come later on the command line and win.
# -ip: the address the master hands out for the volume server; the compose service name keeps
#      it stable across container re-creation (a container IP would change).
# -ip.bind=0.0.0.0: listen on every interface, loopback included (the healthcheck uses it).
# -master.volumeSizeLimitMB / -master.volumePreallocate=false: small, sparse volumes suit one
#      box (the stock settings reserve disk for every new volume up front).
# CORS: the S3 gateway allows every origin by default; presigned URLs carry their own auth.
exec /entrypoint.sh server \
    -dir=/data \
    -ip="${SEAWEEDFS_IP:-s3}" \
    -ip.bind=0.0.0.0 \
    -volume.max=0 \
    -master.volumeSizeLimitMB=1024 \
    -master.volumePreallocate=false \
    -s3 \
    -s3.port=8333 \
    -s3.config="$config"
