#!/usr/bin/env bash
# nvme-bootstrap.sh: the node's local NVMe as the pipeline's staging area, used by every
# infrastructure variant (EC2 user data, the EKS node group's launch template, RKE2 hosts;
# OpenShift mounts through a MachineConfig under /var instead).
#
#   1. finds the instance-store NVMe devices (NVME_DEVICES, a glob; AWS's by-id names by
#      default), never the root disk nor anything mounted elsewhere;
#   2. builds RAID0 with mdadm when there are several (NVME_RAID=auto|raid0|single);
#   3. makes the file system (NVME_FS, xfs by default) when the device has none, which is the
#      case after a reboot with fresh instance-store disks;
#   4. mounts it at NVME_MOUNT_PATH (/mnt/nvme) with NVME_MOUNT_OPTIONS (noatime) through a
#      systemd mount unit, or an fstab line with nofail (NVME_MOUNT_METHOD=systemd|fstab);
#   5. makes a folder per stage (NVME_STAGES) owned by NVME_OWNER (10001:10001, the images' user).
# Idempotent: a second run finds everything in place and changes nothing. Exit 1 with the
# reason when no device matches or a step fails; 2 for bad settings.
set -euo pipefail

DEVICES_GLOB="${NVME_DEVICES:-/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*}"
MOUNT_PATH="${NVME_MOUNT_PATH:-/mnt/nvme}"
FS="${NVME_FS:-xfs}"
MOUNT_OPTIONS="${NVME_MOUNT_OPTIONS:-noatime}"
RAID="${NVME_RAID:-auto}"
STAGES="${NVME_STAGES:-ingest normalize train infer sprint}"
OWNER="${NVME_OWNER:-10001:10001}"
MD_NAME="${NVME_MD_NAME:-pipeline-nvme}"
FSTAB="${NVME_FSTAB:-/etc/fstab}"
if [ -z "${NVME_MOUNT_METHOD:-}" ]; then
    if [ -d /run/systemd/system ]; then NVME_MOUNT_METHOD=systemd; else NVME_MOUNT_METHOD=fstab; fi
fi
METHOD=$NVME_MOUNT_METHOD

log() { printf 'nvme-bootstrap: %s\n' "$*" >&2; }
die() { printf 'nvme-bootstrap: error: %s\n' "$*" >&2; exit "${2:-1}"; }

case "$RAID" in auto|raid0|single) ;; *) die "NVME_RAID=$RAID: use auto, raid0 or single" 2 ;; esac
case "$METHOD" in systemd|fstab) ;; *) die "NVME_MOUNT_METHOD=$METHOD: use systemd or fstab" 2 ;; esac
case "$FS" in xfs|ext4) ;; *) die "NVME_FS=$FS: use xfs or ext4" 2 ;; esac
case "$MOUNT_PATH" in /*) ;; *) die "NVME_MOUNT_PATH=$MOUNT_PATH is not an absolute path" 2 ;; esac

# The disk that holds /, whatever its name: never touched.
root_source=$(findmnt -n -o SOURCE / || true)
root_disk=$(lsblk -n -d -o PKNAME "$root_source" 2>/dev/null | head -n1 || true)
[ -n "$root_disk" ] || root_disk=$(basename "$root_source")

# 1. The devices: the glob's matches, resolved, whole disks only, none mounted or holding /.
devices=()
for candidate in $DEVICES_GLOB; do
    [ -e "$candidate" ] || continue
    case "$candidate" in *-part[0-9]*) continue ;; esac
    device=$(readlink -f "$candidate")
    [ -b "$device" ] || continue
    name=$(basename "$device")
    if [ "$name" = "$root_disk" ]; then log "skipping $device: it holds /"; continue; fi
    mounted=$(lsblk -n -o MOUNTPOINT "$device" 2>/dev/null | grep -v "^$" | grep -vx "$MOUNT_PATH" || true)
    if [ -n "$mounted" ]; then log "skipping $device: mounted at $mounted"; continue; fi
    members=$(lsblk -n -o NAME "$device" 2>/dev/null | tail -n +2 | tr -d ' │├└─' || true)
    if [ -n "$members" ] && ! lsblk -n -o TYPE "$device" | grep -q raid0; then
        log "skipping $device: it has partitions ($members)"; continue
    fi
    case " ${devices[*]:-} " in *" $device "*) ;; *) devices+=("$device") ;; esac
done
[ ${#devices[@]} -gt 0 ] || die "no NVMe device matches $DEVICES_GLOB (set NVME_DEVICES to a glob of the instance-store disks)"
sorted=$(printf '%s\n' "${devices[@]}" | sort)
mapfile -t devices <<< "$sorted"
log "devices: ${devices[*]}"

# 2. One device, or RAID0 of all of them.
target=${devices[0]}
if [ ${#devices[@]} -gt 1 ] && [ "$RAID" != single ]; then
    command -v mdadm >/dev/null || die "mdadm is needed for RAID0 of ${#devices[@]} devices (install it, or NVME_RAID=single)"
    md=/dev/md/$MD_NAME
    if [ ! -e "$md" ]; then
        mdadm --assemble "$md" "${devices[@]}" >/dev/null 2>&1 || true
    fi
    if [ ! -e "$md" ]; then
        log "creating RAID0 $md of ${#devices[@]} devices"
        mdadm --create "$md" --level=0 --raid-devices=${#devices[@]} --name="$MD_NAME" --run --force \
            "${devices[@]}" >/dev/null
    else
        log "RAID0 $md already assembled"
    fi
    target=$(readlink -f "$md")
elif [ ${#devices[@]} -gt 1 ]; then
    log "NVME_RAID=single: using ${devices[0]} only"
fi

# 3. The file system, only where there is none.
existing=$(blkid -o value -s TYPE "$target" 2>/dev/null || true)
if [ -z "$existing" ]; then
    log "making $FS on $target"
    if [ "$FS" = xfs ]; then mkfs.xfs -q -L pl-staging "$target"; else mkfs.ext4 -q -L pl-staging "$target"; fi
elif [ "$existing" != "$FS" ]; then
    die "$target already holds $existing, not $FS: wipe it first (wipefs -a $target) if it is scratch"
else
    log "$target already holds $FS"
fi
uuid=$(blkid -o value -s UUID "$target")

# 4. The mount, made permanent.
mkdir -p "$MOUNT_PATH"
if [ "$METHOD" = systemd ]; then
    unit=$(systemd-escape -p --suffix=mount "$MOUNT_PATH")
    cat > "/etc/systemd/system/$unit.new" <<UNIT
[Unit]
Description=Pipeline staging on local NVMe ($MOUNT_PATH)
Before=kubelet.service rke2-agent.service

[Mount]
What=/dev/disk/by-uuid/$uuid
Where=$MOUNT_PATH
Type=$FS
Options=$MOUNT_OPTIONS,nofail

[Install]
WantedBy=local-fs.target
UNIT
    if cmp -s "/etc/systemd/system/$unit.new" "/etc/systemd/system/$unit"; then
        rm -f "/etc/systemd/system/$unit.new"
    else
        mv "/etc/systemd/system/$unit.new" "/etc/systemd/system/$unit"; systemctl daemon-reload
    fi
    systemctl enable --now "$unit" >/dev/null 2>&1 || die "systemctl could not mount $MOUNT_PATH ($unit)"
else
    line="UUID=$uuid $MOUNT_PATH $FS $MOUNT_OPTIONS,nofail 0 2"
    if ! grep -qxF "$line" "$FSTAB" 2>/dev/null; then
        # A line for this path from an earlier disk (the instance store was replaced) goes.
        touch "$FSTAB"
        awk -v path="$MOUNT_PATH" '$2 != path' "$FSTAB" > "$FSTAB.new" && mv "$FSTAB.new" "$FSTAB"
        printf '%s\n' "$line" >> "$FSTAB"
        log "fstab: $line"
    fi
    if ! findmnt -n "$MOUNT_PATH" >/dev/null; then
        mount -t "$FS" -o "$MOUNT_OPTIONS" "UUID=$uuid" "$MOUNT_PATH"
    fi
fi
source=$(findmnt -n -o SOURCE "$MOUNT_PATH") || die "$MOUNT_PATH is not mounted"
[ "$(readlink -f "$source")" = "$target" ] || die "$MOUNT_PATH is mounted from $source, not $target"

# 5. A folder per stage, owned by the images' user.
for stage in $STAGES; do
    mkdir -p "$MOUNT_PATH/$stage"
    chown "$OWNER" "$MOUNT_PATH/$stage"
    chmod 0750 "$MOUNT_PATH/$stage"
done
log "$MOUNT_PATH: $FS on $target ($(findmnt -n -o OPTIONS "$MOUNT_PATH")), stages: $STAGES"
