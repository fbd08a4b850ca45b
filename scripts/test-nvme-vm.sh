#!/usr/bin/env bash
# infra/bootstrap/nvme-bootstrap.sh for real on emulated NVMe disks: qemu (TCG; KVM is not
# offered here) boots Debian's kernel with an initramfs made here (busybox, util-linux, mdadm,
# xfsprogs, the kernel's nvme, md/raid0 and xfs modules, the bootstrap), with NVMe disks
# attached as `-device nvme`. Inside the guest:
#   boot 1, two blank NVMe disks and a third mounted at /srv (a system disk): /mnt/nvme is an
#     XFS RAID0 of exactly the two blank ones, mounted noatime; a second run changes nothing;
#   boot 2, one blank NVMe disk: XFS on that disk, no RAID.
# Needs root for nothing; qemu-system-x86, linux-image-amd64, busybox-static, mdadm, xfsprogs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "nvme-bootstrap vm test: FAILED: $*" >&2; exit 1; }
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1) || true
[ -n "$KERNEL" ] || fail "no kernel in /boot (install linux-image-amd64)"
VERSION=${KERNEL#/boot/vmlinuz-}
for tool in qemu-system-x86_64 busybox mdadm mkfs.xfs cpio; do
    command -v "$tool" >/dev/null || fail "$tool is missing"
done

# The initramfs: busybox for the shell tools, the real util-linux, mdadm and xfsprogs with
# their libraries, the modules in load order, and the bootstrap.
INITRD="$WORK/initrd"
mkdir -p "$INITRD"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt,srv,lib/modules}
cp "$(command -v busybox)" "$INITRD/bin/busybox"
for program in bash findmnt lsblk blkid mount umount wipefs mdadm mkfs.xfs; do
    path=$(command -v "$program")
    cp -L "$path" "$INITRD/sbin/$program"
    ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r library; do
        mkdir -p "$INITRD$(dirname "$library")"
        cp -Ln "$library" "$INITRD$library"
    done
done
modules=$(for module in nvme raid0 xfs; do modprobe -S "$VERSION" --show-depends "$module"; done \
    | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++')
for module in $modules; do cp "$module" "$INITRD/lib/modules/"; done
printf '%s\n' "$modules" | xargs -n1 basename > "$INITRD/lib/modules/order"
cp "$ROOT/infra/bootstrap/nvme-bootstrap.sh" "$INITRD/sbin/nvme-bootstrap.sh"
cat > "$INITRD/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev; mkdir -p /dev/md /run/mdadm; ln -s /proc/self/fd /dev/fd
while read -r module; do insmod "/lib/modules/$module" 2>/dev/null; done < /lib/modules/order
sleep 1
disks=$(ls /dev/nvme*n1 | sort)
echo "GUEST disks: $disks"
# With three disks, the last stands for a system disk: formatted and mounted at /srv.
if [ "$(echo "$disks" | wc -l)" = 3 ]; then
    system=$(echo "$disks" | tail -n1)
    mkfs.xfs -q -f "$system" && mount "$system" /srv && echo "GUEST system disk $system at /srv"
fi
run() { NVME_DEVICES='/dev/nvme*n1' NVME_MOUNT_METHOD=fstab NVME_FSTAB=/etc/fstab bash /sbin/nvme-bootstrap.sh 2>&1 | sed 's/^/GUEST log: /'; }
run
echo "GUEST mount: $(findmnt -n -o SOURCE,FSTYPE,OPTIONS /mnt/nvme)"
source=$(findmnt -n -o SOURCE /mnt/nvme)
if [ -e /proc/mdstat ] && grep -q '^md' /proc/mdstat; then
    echo "GUEST raid: $(grep '^md' /proc/mdstat)"
    echo "GUEST members: $(ls /sys/block/$(basename "$(readlink -f "$source")")/slaves | sort | tr '\n' ' ')"
fi
echo "GUEST folders: $(stat -c '%n=%u:%g:%a' /mnt/nvme/* | tr '\n' ' ')"
before="$(blkid -o value -s UUID "$source") $(md5sum < /etc/fstab)"
run
after="$(blkid -o value -s UUID "$source") $(md5sum < /etc/fstab)"
[ "$before" = "$after" ] && echo "GUEST second run: unchanged" || echo "GUEST second run: CHANGED"
echo "GUEST done"
poweroff -f
INIT
chmod +x "$INITRD/init"
(cd "$INITRD" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.gz"

boot() { # name disks...: one boot with that many blank 512 MiB NVMe disks
    local name=$1 count=$2 args=()
    for i in $(seq "$count"); do
        truncate -s 512M "$WORK/$name-$i.img"
        args+=(-drive "file=$WORK/$name-$i.img,if=none,id=d$i,format=raw" -device "nvme,serial=pipeline$i,drive=d$i")
    done
    timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot -kernel "$KERNEL" \
        -initrd "$WORK/initrd.gz" -append "console=ttyS0 panic=-1 quiet" "${args[@]}" 2>&1 \
        | tr -d '\r' | grep '^GUEST' > "$WORK/$name.out" || true
    sed "s/^/  $name: /" "$WORK/$name.out" >&2
    grep -q '^GUEST done' "$WORK/$name.out" || fail "$name: the guest did not finish"
}

started=$SECONDS
boot raid 3
out="$WORK/raid.out"
grep -Eq '^GUEST mount: /dev/md[0-9]+ +xfs +rw,noatime' "$out" || fail "raid: /mnt/nvme is not an XFS md device mounted noatime"
grep -q '^GUEST raid: md[0-9]* : active raid0 ' "$out" || fail "raid: no active RAID0"
grep -q '^GUEST members: nvme0n1 nvme1n1 $' "$out" || fail "raid: the RAID0 is not exactly the two blank disks"
grep -q 'skipping /dev/nvme2n1: mounted at /srv' "$out" || fail "raid: the system disk was not refused"
grep -q '^GUEST second run: unchanged' "$out" || fail "raid: the second run changed something"
grep -q 'ingest=10001:10001:750' "$out" || fail "raid: the stage folders are not 10001's"
boot single 1
out="$WORK/single.out"
grep -Eq '^GUEST mount: /dev/nvme0n1 +xfs +rw,noatime' "$out" || fail "single: /mnt/nvme is not XFS on the one disk"
if grep -q '^GUEST raid:' "$out"; then fail "single: a RAID was made for one disk"; fi
grep -q '^GUEST second run: unchanged' "$out" || fail "single: the second run changed something"
echo "nvme-bootstrap vm test: passed in $((SECONDS - started)) s (RAID0 of two emulated NVMe disks beside a mounted one, then one disk alone; XFS noatime; idempotent)" >&2
