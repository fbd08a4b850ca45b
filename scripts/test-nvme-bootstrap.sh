#!/usr/bin/env bash
# infra/bootstrap/nvme-bootstrap.sh on this host, with loop devices standing in for the NVMe
# disks (this host has no md driver, so RAID0 is left to a VM): one disk made XFS and mounted
# noatime through an fstab line with nofail, a folder per stage owned by 10001; a second run
# changes nothing; a "reboot" with a fresh disk gets a new file system and its fstab line
# replaced; a disk mounted elsewhere is never taken. Needs root.
set -euo pipefail
WORK=$(mktemp -d)
loops=()
cleanup() {
    umount "$WORK/mnt" "$WORK/elsewhere" 2>/dev/null || true
    for loop in "${loops[@]}"; do losetup -d "$loop" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "nvme-bootstrap test: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (loop devices, mkfs, mount)"
command -v mkfs.xfs >/dev/null || fail "mkfs.xfs missing (xfsprogs)"
BOOTSTRAP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/infra/bootstrap/nvme-bootstrap.sh"
for i in 0 1; do
    truncate -s 512M "$WORK/disk$i.img"
    loops+=("$(losetup --find --show "$WORK/disk$i.img")")
done
disk=${loops[0]}
run() {
    NVME_DEVICES="$1" NVME_MOUNT_PATH="$WORK/mnt" NVME_MOUNT_METHOD=fstab NVME_FSTAB="$WORK/fstab" \
        NVME_OWNER=10001:10001 "$BOOTSTRAP" 2>&1
}

first=$(run "$disk") || fail "first run: $first"
[ "$(findmnt -n -o FSTYPE "$WORK/mnt")" = xfs ] || fail "not XFS: $(findmnt "$WORK/mnt")"
[ "$(findmnt -n -o SOURCE "$WORK/mnt")" = "$disk" ] || fail "not mounted from $disk"
findmnt -n -o OPTIONS "$WORK/mnt" | grep -qw noatime || fail "not mounted noatime"
[ "$(grep -c " $WORK/mnt xfs noatime,nofail " "$WORK/fstab")" = 1 ] || fail "fstab: $(cat "$WORK/fstab")"
for stage in ingest normalize train infer sprint; do
    [ "$(stat -c %u:%g:%a "$WORK/mnt/$stage")" = 10001:10001:750 ] || fail "$stage folder: $(stat -c %u:%g:%a "$WORK/mnt/$stage")"
done
fstab_before=$(sha256sum < "$WORK/fstab")
uuid_before=$(blkid -o value -s UUID "$disk")

second=$(run "$disk") || fail "second run: $second"
echo "$second" | grep -q "already holds xfs" || fail "second run remade the file system: $second"
[ "$(sha256sum < "$WORK/fstab")" = "$fstab_before" ] || fail "second run changed fstab"
[ "$(blkid -o value -s UUID "$disk")" = "$uuid_before" ] || fail "second run changed the file system"

# A reboot with fresh instance-store disks: unmounted, blank; the bootstrap rebuilds.
umount "$WORK/mnt"; wipefs -q -a "$disk"
third=$(run "$disk") || fail "after a fresh disk: $third"
uuid_after=$(blkid -o value -s UUID "$disk")
[ "$uuid_after" != "$uuid_before" ] || fail "fresh disk: no new file system"
[ "$(grep -c " $WORK/mnt " "$WORK/fstab")" = 1 ] && grep -q "UUID=$uuid_after " "$WORK/fstab" \
    || fail "fresh disk: fstab not replaced: $(cat "$WORK/fstab")"

# A disk mounted somewhere else is never taken, and with nothing else the run fails clearly.
mkfs.xfs -q "${loops[1]}"; mkdir -p "$WORK/elsewhere"; mount "${loops[1]}" "$WORK/elsewhere"
if out=$(run "${loops[1]}"); then fail "took a disk mounted elsewhere: $out"; fi
echo "$out" | grep -q "skipping ${loops[1]}: mounted at $WORK/elsewhere" || fail "no reason given: $out"
echo "$out" | grep -q "no NVMe device matches" || fail "no clear error: $out"
if NVME_RAID=mirror "$BOOTSTRAP" >/dev/null 2>&1; then fail "a bad NVME_RAID was accepted"; fi
echo "nvme-bootstrap test: passed (XFS noatime from fstab, folders 10001:750, idempotent, fresh disk rebuilt, mounted disk refused)" >&2
