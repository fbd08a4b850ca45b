#!/bin/sh
# collect-libraries.sh ROOT PROGRAM... [--dlopen LIBRARY...]
# Builds a minimal root file system in ROOT holding PROGRAM... and exactly the shared libraries
# they load (their ldd closure), laid out as Debian's merged /usr, with a linker cache, a
# non-root user (10001), a CA bundle, /tmp and the staging volume /mnt/nvme. Fails when a
# library is missing, here or inside ROOT (its own loader lists each program's libraries).
# Each LIBRARY after --dlopen is one the programs load at run time (ldd cannot see it: OpenBLAS,
# which the trainer opens on first use): it goes in under its name, with its own closure.
set -eu
root=$1; shift
programs=""
opened=""
while [ $# -gt 0 ]; do
    if [ "$1" = --dlopen ]; then shift; opened="$*"; break; fi
    programs="$programs $1"; shift
done
# shellcheck disable=SC2086 # word splitting of the program list is meant
set -- $programs
mkdir -p "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/usr/local/bin" "$root/usr/bin" "$root/etc/ssl/certs" \
    "$root/tmp" "$root/mnt/nvme" "$root/home/pipeline"
ln -sfn usr/lib "$root/lib"; ln -sfn usr/lib64 "$root/lib64"; ln -sfn usr/bin "$root/bin"
inside() { case "$1" in /usr/bin/*) echo "$1" ;; *) echo "/usr/local/bin/$(basename "$1")" ;; esac; }
library_path() { echo "/usr/lib/x86_64-linux-gnu/$(basename "$1")"; }
# The shared libraries FILE loads (a program or a library), each under the name ldd printed (its
# soname), copied from where it resolves; fails when one is missing here.
copy_closure() {
    if ldd "$1" | grep -q "not found"; then
        echo "collect-libraries: $1 needs libraries this image lacks:" >&2
        ldd "$1" | grep "not found" >&2
        exit 1
    fi
    ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r library; do
        directory=$(cd "$(dirname "$library")" && pwd -P)
        mkdir -p "$root$directory"
        [ -e "$root$directory/$(basename "$library")" ] || cp -L "$library" "$root$directory/"
    done
}
for program in "$@"; do
    copy_closure "$program"
    target="$root$(inside "$program")"
    [ -e "$target" ] || cp -L "$program" "$target"
done
for library in $opened; do
    copy_closure "$library"
    # Under the name the program opens (Debian's alternatives symlink resolved).
    cp -L "$library" "$root$(library_path "$library")"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\npipeline:x:10001:10001:pipeline:/home/pipeline:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\npipeline:x:10001:\n' > "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '/usr/lib/x86_64-linux-gnu\n/usr/lib64\n' > "$root/etc/ld.so.conf"
ldconfig -r "$root"
chmod 1777 "$root/tmp"
chown 10001:10001 "$root/mnt/nvme" "$root/home/pipeline"
# Proof that the closure resolves inside ROOT alone: the image's own loader lists every
# library of every program (and opened library) from the image's own linker cache, and none is
# missing.
check_loads() {
    listed=$(chroot "$root" /usr/lib64/ld-linux-x86-64.so.2 --list "$1") \
        || { echo "collect-libraries: $(basename "$1") does not load in the image" >&2; exit 1; }
    if printf '%s\n' "$listed" | grep -q "not found"; then
        echo "collect-libraries: $(basename "$1") is missing libraries in the image:" >&2
        printf '%s\n' "$listed" | grep "not found" >&2
        exit 1
    fi
}
for program in "$@"; do check_loads "$(inside "$program")"; done
for library in $opened; do check_loads "$(library_path "$library")"; done
echo "collect-libraries: $(find "$root" -type f | wc -l) files, $(du -sm "$root" | cut -f1) MB"
