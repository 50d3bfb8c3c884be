#!/usr/bin/env bash
# Builds local equivalents of the third-party images that the services' Dockerfiles, docker-compose.yml and the
# integration tests' fixtures name, for a machine that reaches no image registry. Everything comes from this
# machine: Debian's packages through its own apt sources (mmdebstrap), and the .NET SDK it runs.
#
#   tests/containers/local-images.sh
#
#   eventimaging-local/debian:bookworm        Debian minbase + ca-certificates, libssl3, tzdata
#   eventimaging-local/dotnet-aspnet:10.0     stands in for mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled
#   eventimaging-local/dotnet-sdk:10.0        stands in for mcr.microsoft.com/dotnet/sdk:10.0, with the services'
#                                             NuGet packages already in its global packages folder
#   eventimaging-local/rabbitmq:3-management  stands in for rabbitmq:*-management (Debian's rabbitmq-server)
#   eventimaging-local/postgres:15            stands in for postgres:* (Debian's postgresql-15)
#   eventimaging-local/s3rver:3               stands in for minio/minio in docker-compose.yml (s3rver from npm, pinned
#                                             in tests/scripts/s3rver, on Debian's nodejs)
#
# The root file systems (Debian base, RabbitMQ, PostgreSQL) are built with mmdebstrap when their image is missing,
# and reused otherwise (EVENTIMAGING_LOCAL_IMAGES_REBUILD=1 builds them again). The SDK image is rebuilt when the
# SDK or the services' packages change. Every `docker build` here runs with --network none: apt's downloads happen
# on the host, in mmdebstrap, and nothing inside a container addresses any network.
#
# Prints one line per image with its size; exits non-zero, with the failing tool's output, when a build fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
images="$here/images"

readonly PREFIX=eventimaging-local
readonly SUITE=bookworm
readonly BASE_IMAGE="$PREFIX/debian:$SUITE"
readonly ASPNET_IMAGE="$PREFIX/dotnet-aspnet:10.0"
readonly SDK_IMAGE="$PREFIX/dotnet-sdk:10.0"
readonly RABBITMQ_IMAGE="$PREFIX/rabbitmq:3-management"
readonly POSTGRES_IMAGE="$PREFIX/postgres:15"
readonly S3RVER_IMAGE="$PREFIX/s3rver:3"
# The projects whose Dockerfiles restore inside the SDK image.
readonly SERVICE_PROJECTS=(
    services/EventImaging.Host/EventImaging.Host.csproj
    services/EventImaging.Migrator/EventImaging.Migrator.csproj
    services/EventImaging.ProviderSimulator/EventImaging.ProviderSimulator.csproj
    services/EventImaging.Submitter/EventImaging.Submitter.csproj
    services/EventImaging.WebhookReceiver/EventImaging.WebhookReceiver.csproj
)

say() { printf 'local-images: %s\n' "$*"; }
fail() { printf 'local-images: ERROR: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }
size_of() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000 / 1000 }'; }

# Runs a command with its output in a log, shown only when it fails.
logged() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        sed 's/^/  /' "$log" >&2
        fail "failed: $*"
    fi
}

# --- Root file systems (mmdebstrap) --------------------------------------------------------------

if ! command -v mmdebstrap >/dev/null 2>&1; then
    say "installing mmdebstrap (apt-get)"
    logged "$work/apt.log" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap'
fi

# This machine's own apt sources, pasted into each root file system's sources.list by mmdebstrap.
sources=()
[ -s /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && sources+=("$file")
done
[ ${#sources[@]} -gt 0 ] || fail "no apt sources found in /etc/apt/sources.list(.d)"

# Documentation, manual pages and translations are left out of every image.
trim=(
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
)

# rootfs IMAGE PACKAGES [mmdebstrap options...]: builds IMAGE from Debian minbase plus PACKAGES (comma-separated)
# when it is missing. Runs in the background; the caller waits.
rootfs() {
    local image=$1 packages=$2
    shift 2
    if image_exists "$image" && [ -z "${EVENTIMAGING_LOCAL_IMAGES_REBUILD:-}" ]; then
        return 0
    fi
    local name=${image//[\/:]/_}
    (
        started=$SECONDS
        logged "$work/$name.log" mmdebstrap --variant=minbase --include="$packages" "${trim[@]}" "$@" \
            --format=tar "$SUITE" "$work/$name.tar" "${sources[@]}"
        logged "$work/$name.import.log" docker import \
            --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase + $packages (mmdebstrap)\"" \
            "$work/$name.tar" "$image"
        rm -f "$work/$name.tar"
        say "built $image with mmdebstrap in $((SECONDS - started)) s"
    ) &
}

rootfs "$BASE_IMAGE" ca-certificates,libssl3,tzdata
# The package's own cluster (made by its postinst) is dropped: the image initialises its data directory at start.
rootfs "$PREFIX/postgres-rootfs:15" postgresql-15 \
    --customize-hook='rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"'
rootfs "$PREFIX/rabbitmq-rootfs:3" rabbitmq-server
rootfs "$PREFIX/node-rootfs:1" nodejs
failed=0
for job in $(jobs -p); do
    wait "$job" || failed=1
done
[ "$failed" -eq 0 ] || fail "a root file system could not be built (output above)"

# --- Images built from Dockerfiles ----------------------------------------------------------------

build_dockerfile_dir() {
    local image=$1 dir=$2 rootfs_image=$3
    local name=${image//[\/:]/_}
    tar -c -C "$dir" . | logged "$work/$name.build.log" docker build --network none --force-rm -q -t "$image" \
        --build-arg ROOTFS_IMAGE="$rootfs_image" -
}

build_dockerfile_dir "$RABBITMQ_IMAGE" "$images/rabbitmq" "$PREFIX/rabbitmq-rootfs:3"
build_dockerfile_dir "$POSTGRES_IMAGE" "$images/postgres" "$PREFIX/postgres-rootfs:15"

# s3rver's packages are installed on the host (npm ci, as tests/scripts/ensure-s3.sh does), then copied in.
s3rver_tools=$root/tests/scripts/s3rver
if [ ! -f "$s3rver_tools/node_modules/s3rver/bin/s3rver.js" ]; then
    (cd "$s3rver_tools" && logged "$work/npm.log" npm ci --no-audit --no-fund --loglevel=error)
fi
context=$work/s3rver
mkdir -p "$context/s3rver"
cp "$images/s3rver/Dockerfile" "$context/"
ln -s "$s3rver_tools/package.json" "$s3rver_tools/node_modules" "$context/s3rver/"
tar -ch -C "$context" . | logged "$work/s3rver.build.log" docker build --network none --force-rm -q -t "$S3RVER_IMAGE" \
    --build-arg ROOTFS_IMAGE="$PREFIX/node-rootfs:1" -

# The .NET installation this machine runs: its newest shared frameworks go into the runtime image, all of it into
# the SDK image.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
newest() { find "$1" -mindepth 1 -maxdepth 1 -type d -name '10.*' -printf '%f\n' | sort -V | tail -n 1; }
netcore=$(newest "$dotnet_root/shared/Microsoft.NETCore.App")
aspnetcore=$(newest "$dotnet_root/shared/Microsoft.AspNetCore.App")
[ -n "$netcore" ] && [ -n "$aspnetcore" ] || fail "no .NET 10 shared frameworks under $dotnet_root/shared"

# A build context of symbolic links, followed by tar -h: nothing is copied before docker reads it.
context=$work/aspnet
mkdir -p "$context/dotnet/shared/Microsoft.NETCore.App" "$context/dotnet/shared/Microsoft.AspNetCore.App"
cp "$images/dotnet-aspnet/Dockerfile" "$context/"
ln -s "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/LICENSE.txt" "$dotnet_root/ThirdPartyNotices.txt" "$context/dotnet/"
ln -s "$dotnet_root/shared/Microsoft.NETCore.App/$netcore" "$context/dotnet/shared/Microsoft.NETCore.App/"
ln -s "$dotnet_root/shared/Microsoft.AspNetCore.App/$aspnetcore" "$context/dotnet/shared/Microsoft.AspNetCore.App/"
tar -ch -C "$context" . | logged "$work/aspnet.build.log" docker build --network none --force-rm -q \
    -t "$ASPNET_IMAGE" --label "org.opencontainers.image.version=$aspnetcore" --build-arg BASE_IMAGE="$BASE_IMAGE" -

# The NuGet packages the services restore: restored on the host (from its package sources, or its global packages
# folder when they are already there), then read from each project's assets file.
for project in "${SERVICE_PROJECTS[@]}"; do
    logged "$work/restore.log" dotnet restore "$root/$project"
done
# Every project in their restore graph counts: a library's private packages (EF Core's design-time package in Core)
# are in its own assets file only.
packages=$work/packages.txt
for assets in "$root"/services/*/obj/project.assets.json "$root"/contracts/*/obj/project.assets.json; do
    [ -f "$assets" ] || continue
    python3 - "$assets" <<'PY'
import json, os, sys
assets = json.load(open(sys.argv[1]))
folder = next(iter(assets["packageFolders"]))
for library in assets["libraries"].values():
    if library["type"] == "package":
        print(os.path.join(folder, library["path"]))
PY
done | sort -u >"$packages"
sdk_version=$(dotnet --version)
inputs=$( { echo "$sdk_version"; sed 's|.*/\([^/]*/[^/]*\)$|\1|' "$packages"; sha256sum "$images/dotnet-sdk/"*; } | sha256sum | cut -c1-16)
if [ "$(image_label "$SDK_IMAGE" eventimaging.inputs)" != "$inputs" ] || [ -n "${EVENTIMAGING_LOCAL_IMAGES_REBUILD:-}" ]; then
    context=$work/sdk
    mkdir -p "$context/packages"
    cp "$images/dotnet-sdk/Dockerfile" "$images/dotnet-sdk/NuGet.Config" "$context/"
    ln -s "$dotnet_root" "$context/dotnet"
    while read -r package; do
        id=$(basename "$(dirname "$package")")
        mkdir -p "$context/packages/$id"
        ln -s "$package" "$context/packages/$id/"
    done <"$packages"
    started=$SECONDS
    previous=$(docker image inspect -f '{{.Id}}' "$SDK_IMAGE" 2>/dev/null || true)
    tar -ch -C "$context" . | logged "$work/sdk.build.log" docker build --network none --force-rm -q \
        -t "$SDK_IMAGE" --label "org.opencontainers.image.version=$sdk_version" --label "eventimaging.inputs=$inputs" \
        --build-arg BASE_IMAGE="$BASE_IMAGE" -
    # The image it replaces is a gigabyte: removed, unless something else still uses it.
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$SDK_IMAGE")" ]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
    say "built $SDK_IMAGE (SDK $sdk_version, $(wc -l <"$packages") packages) in $((SECONDS - started)) s"
fi

for image in "$BASE_IMAGE" "$ASPNET_IMAGE" "$SDK_IMAGE" "$RABBITMQ_IMAGE" "$POSTGRES_IMAGE" "$S3RVER_IMAGE"; do
    say "$image $(size_of "$image")"
done
