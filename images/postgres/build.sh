#!/usr/bin/env bash
# Builds a PostgreSQL image from Debian's packages (PostgreSQL and pgTAP), with the official
# postgres image's interface, for machines that cannot pull images (air-gapped CI, and our tests).
#
#   images/postgres/build.sh [--force]          -> dbgate/postgres:15
#   PG_MAJOR=15 DEBIAN_SUITE=bookworm IMAGE=my/postgres:15 images/postgres/build.sh
#
# It needs root, debootstrap and a Docker engine; the Debian mirror is the only network it uses.
# An image already built from the same recipe is kept (the recipe's hash is a label on the image).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
PG_MAJOR="${PG_MAJOR:-15}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
IMAGE="${IMAGE:-dbgate/postgres:$PG_MAJOR}"
force="${1:-}"

# One build at a time: parallel test processes may all ask for the image.
exec 9>/tmp/dbgate-image-build.lock
flock 9

recipe="$(cat "$here/build.sh" "$here/docker-entrypoint.sh" | sha256sum | cut -c1-16)-$PG_MAJOR-$DEBIAN_SUITE"
if [ "$force" != "--force" ] && [ "$(docker image inspect -f '{{ index .Config.Labels "dev.dbgate.recipe" }}' "$IMAGE" 2>/dev/null)" = "$recipe" ]; then
	echo "$IMAGE is up to date (recipe $recipe)"
	exit 0
fi

if ! command -v debootstrap >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

work="$(mktemp -d /tmp/dbgate-image-XXXXXX)"
root="$work/rootfs"
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "debootstrap $DEBIAN_SUITE into $root"
debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
	tail -30 "$work/debootstrap.log"
	exit 1
}

# No cluster from the package (the entrypoint makes one), and no services started in the chroot.
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/dbgate.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
chroot "$root" apt-get update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-pgtap" postgresql-client ca-certificates >"$work/apt.log" 2>&1 || {
	tail -30 "$work/apt.log"
	exit 1
}
umount "$root/proc"
# As in the official image: the server listens on every address of the container.
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$root/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
grep -q "^listen_addresses = '\*'" "$root/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
install -m 0755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/run/postgresql"
chroot "$root" chown postgres:postgres /var/run/postgresql

echo "importing $IMAGE"
tar -C "$root" -c . | docker import \
	--change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	--change "ENV PG_MAJOR=$PG_MAJOR" \
	--change 'ENV PGDATA=/var/lib/postgresql/data' \
	--change 'ENV LANG=C.UTF-8' \
	--change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
	--change 'CMD ["postgres"]' \
	--change 'EXPOSE 5432' \
	--change "LABEL dev.dbgate.recipe=$recipe" \
	--change "LABEL org.opencontainers.image.description=\"PostgreSQL $PG_MAJOR and pgTAP from Debian $DEBIAN_SUITE, with the official postgres image's interface\"" \
	- "$IMAGE" >/dev/null
echo "built $IMAGE"
