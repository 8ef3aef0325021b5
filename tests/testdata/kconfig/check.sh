#!/bin/bash
# Checks every function of the script library (/.kconfig) in a copy of a
# Debian root, run there as a description's script (TestKconfigFunctions).
# Each check t_NAME runs in a bash of its own with set -euo pipefail (the
# strictest a user's script may be) and the library sourced; it prints
# "ok NAME", "skip NAME: why" or "FAIL NAME: output". The checks run in
# this order and some build on the ones before (the kernel tree).

want() { # want DESCRIPTION COMMAND...: fails with DESCRIPTION unless COMMAND succeeds
    local what=$1
    shift
    if ! "$@"; then
        echo "expected: ${what}" >&2
        return 1
    fi
}
link_is() { [ "$(readlink "$1")" = "$2" ]; }
wants_link() { [ -L "/etc/systemd/system/multi-user.target.wants/$1.service" ]; }
rpm_stub() { # an rpm that logs its arguments: Debian's root has none
    cat >/usr/bin/rpm <<'EOF'
#!/bin/sh
echo "$*" >>/tmp/rpm.log
case "$1" in
-qa) printf 'yast2-core-4.5\nbash-5.2\n' ;;
-q) exit 1 ;;
esac
exit 0
EOF
    chmod 755 /usr/bin/rpm
    rm -f /tmp/rpm.log
}
modules() { find /lib/modules -name '*.ko*' | wc -l; }
kver() { ls /lib/modules | head -n 1; } # the root's kernel, not the host's
btrfs_set() { # btrfs and what it needs, as modprobe (and KIWI) sees it
    modprobe --set-version "$(kver)" --ignore-install --show-depends btrfs | sed -ne 's:.*insmod /\?::p' | cut -d' ' -f1
}

t_Echo() {
    want "prefix" [ "$(Echo hello)" = "-----> hello" ]
    want "blank prefix" [ "$(Echo -b hello)" = "       hello" ]
    want "no newline" [ "$(Echo -n a; echo b)" = "-----> ab" ]
}
t_Debug() {
    want "silent without DEBUG" [ -z "$(Debug hidden)" ]
    want "shown with DEBUG=1" grep -q "+++++>.*shown" <<<"$(DEBUG=1 Debug shown)"
}
t_Rm() {
    touch /tmp/rm-me
    Rm /tmp/rm-me
    want "file removed" [ ! -e /tmp/rm-me ]
}
t_Rpm() {
    rpm_stub
    Rpm -qa >/dev/null
    want "rpm called with -qa" grep -qx -- "-qa" /tmp/rpm.log
}
t_deprecated() {
    want "notice" grep -q "DEPRECATED: x has no effect: y" <<<"$(deprecated x y 2>&1)"
}
t_baseSystemdServiceInstalled() {
    want "networkd unit" grep -q "/systemd/system/systemd-networkd.service$" <<<"$(baseSystemdServiceInstalled systemd-networkd)"
    printf '[Mount]\nWhat=tmpfs\nWhere=/kiwi-test\n' >/etc/systemd/system/kiwi-test.mount
    want "mount unit" [ "$(baseSystemdServiceInstalled kiwi-test)" = /etc/systemd/system/kiwi-test.mount ]
    want "nothing for a missing unit" [ -z "$(baseSystemdServiceInstalled no-such-unit)" ]
}
t_baseSysVServiceInstalled() {
    printf '#!/bin/sh\n' >/etc/init.d/kiwi-sysv
    want "not executable: nothing" [ -z "$(baseSysVServiceInstalled kiwi-sysv)" ]
    chmod 755 /etc/init.d/kiwi-sysv
    want "executable script" [ "$(baseSysVServiceInstalled kiwi-sysv)" = kiwi-sysv ]
}
t_baseSystemdCall() {
    baseSystemdCall systemd-networkd enable
    want "enabled" wants_link systemd-networkd
    baseSystemdCall systemd-networkd disable
    want "disabled" test ! -e /etc/systemd/system/multi-user.target.wants/systemd-networkd.service
    baseSystemdCall no-such-unit enable
}
services() { # services INSERT REMOVE SERVICE
    "$1" systemd-networkd
    want "$1 enables" wants_link systemd-networkd
    "$2" systemd-networkd
    want "$2 disables" test ! -e /etc/systemd/system/multi-user.target.wants/systemd-networkd.service
    "$3" systemd-networkd on
    want "$3 on enables" wants_link systemd-networkd
    "$3" systemd-networkd off
    want "$3 off disables" test ! -e /etc/systemd/system/multi-user.target.wants/systemd-networkd.service
    want "$3 without a state says so" grep -q "no target specified" <<<"$("$3" systemd-networkd)"
}
t_baseInsertService() { services baseInsertService baseRemoveService baseService; }
t_baseRemoveService() { t_baseInsertService; }
t_baseService() { t_baseInsertService; }
t_suseInsertService() { services suseInsertService suseRemoveService suseService; }
t_suseRemoveService() { t_suseInsertService; }
t_suseService() { t_suseInsertService; }
t_suseActivateDefaultServices() {
    printf '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' >/etc/systemd/system/cron.service
    suseActivateDefaultServices
    want "cron enabled" wants_link cron
}
t_baseSetRunlevel() {
    baseSetRunlevel 3
    want "3: multi-user" link_is /etc/systemd/system/default.target /usr/lib/systemd/system/multi-user.target
    baseSetRunlevel 5
    want "5: graphical" link_is /etc/systemd/system/default.target /usr/lib/systemd/system/graphical.target
    baseSetRunlevel rescue.target
    want "named target" link_is /etc/systemd/system/default.target /usr/lib/systemd/system/rescue.target
    want "unknown target said" grep -q "Can't find systemd target" <<<"$(baseSetRunlevel no.target)"
    want "unknown target leaves the link" link_is /etc/systemd/system/default.target /usr/lib/systemd/system/rescue.target
}
t_baseUpdateSysConfig() {
    printf '# c\nFOO="a"\nBAR=b\n' >/tmp/sysconfig
    baseUpdateSysConfig /tmp/sysconfig FOO 'x y&z@/'
    want "value set" grep -qx 'FOO="x y&z@/"' /tmp/sysconfig
    want "others kept" grep -qx 'BAR=b' /tmp/sysconfig
    want "missing file said" grep -q "not found" <<<"$(baseUpdateSysConfig /tmp/none FOO x)"
}
t_baseQuoteFile() {
    printf '%s\n' 'A=plain' '' '# comment' 'B="two words"' "C=it's" 'D=$HOME`x`' >/tmp/q
    baseQuoteFile /tmp/q
    want "no comment left" test "$(grep -c '#' /tmp/q)" = 0
    (
        . /tmp/q
        want "A" [ "$A" = plain ]
        want "B" [ "$B" = "two words" ]
        want "C" [ "$C" = "it's" ]
        want "D literal" [ "$D" = '$HOME`x`' ]
    )
}
t_baseSetupBuildDay() {
    SOURCE_DATE_EPOCH=86400 baseSetupBuildDay
    want "build day of SOURCE_DATE_EPOCH" grep -qx build_day=19700102 /build_day
    (unset SOURCE_DATE_EPOCH; baseSetupBuildDay)
    want "today" grep -qx "build_day=$(date -u +%Y%m%d)" /build_day
}
t_baseSetupUserPermissions() {
    useradd -m -u 1500 -s /bin/bash kiwiuser
    touch /home/kiwiuser/file
    chown root:root /home/kiwiuser/file
    baseSetupUserPermissions >/dev/null
    want "home owned by its user again" [ "$(stat -c %U:%G /home/kiwiuser/file)" = kiwiuser:kiwiuser ]
}
t_baseVagrantSetup() {
    useradd -m vagrant
    baseVagrantSetup
    want "authorized key" grep -q "vagrant insecure public key" /home/vagrant/.ssh/authorized_keys
    want "key file private" [ "$(stat -c %a:%U /home/vagrant/.ssh/authorized_keys)" = 600:vagrant ]
    want "password-less sudo" grep -rqs "vagrant ALL=(ALL) NOPASSWD: ALL" /etc/sudoers /etc/sudoers.d
    want "sshd settings" grep -rqs "UseDNS no" /etc/ssh
    want "/vagrant" [ "$(stat -c %U /vagrant)" = vagrant ]
}
t_setupContainerRuntime() {
    setupContainerRuntime
    want "vfs storage" grep -qx 'driver = "vfs"' /etc/containers/storage.conf
    want "cgroupfs" grep -qx 'cgroup_manager = "cgroupfs"' /etc/containers/containers.conf
}
t_mountProc() {
    umount /proc
    want "proc gone first" test ! -e /proc/self
    mountProc
    want "proc mounted" mountpoint -q /proc
    mountProc
}
t_mountCgroups() {
    # /proc/cgroups: a controller with a hierarchy number is in cgroup v1.
    if ! awk '$1 == "devices" && $2 != 0 {found = 1} END {exit !found}' /proc/cgroups; then
        echo "skip: the host has no cgroup v1 devices hierarchy to mount again"
        return 0
    fi
    mountCgroups
    want "pids controller" mountpoint -q /sys/fs/cgroup/pids
    want "devices controller" mountpoint -q /sys/fs/cgroup/devices
    umountCgroups
    want "all gone" test ! -e /sys/fs/cgroup/pids
}
t_umountCgroups() { t_mountCgroups; }
t_suseSetupProduct() {
    mkdir -p /etc/products.d
    touch /etc/products.d/openSUSE.prod /etc/products.d/SUSE_SLES.prod
    suseSetupProduct
    want "last .prod without a match" link_is /etc/products.d/baseproduct openSUSE.prod
    echo SLES >/etc/SuSE-brand
    suseSetupProduct
    want "SuSE-brand's product" link_is /etc/products.d/baseproduct SUSE_SLES.prod
    rm /etc/SuSE-brand
}
t_suseSetupProductInformation() {
    want "refused with the reason" grep -q "product" <<<"$(suseSetupProductInformation 2>&1 || true)"
    if (suseSetupProductInformation 2>/dev/null); then
        echo "expected: a failure" >&2
        return 1
    fi
}
t_suseImportBuildKey() {
    rpm_stub
    mkdir -p /usr/lib/rpm/gnupg/keys
    touch /usr/lib/rpm/gnupg/keys/gpg-pubkey-3dbdc284-53674dd4.asc
    suseImportBuildKey >/dev/null
    want "key imported" grep -qx -- "--import /usr/lib/rpm/gnupg/keys/gpg-pubkey-3dbdc284-53674dd4.asc" /tmp/rpm.log
}
t_suseRemoveYaST() {
    rpm_stub
    suseRemoveYaST
    want "yast erased, nothing else" grep -qx -- "-e --nodeps yast2-core-4.5" /tmp/rpm.log
    rpm_stub
    mkdir -p /etc/YaST2
    touch /etc/YaST2/firstboot.xml
    suseRemoveYaST
    want "kept for firstboot: rpm not even asked" test ! -e /tmp/rpm.log
}
t_baseStripAndKeep() {
    mkdir -p /tmp/sak
    touch /tmp/sak/keep-me /tmp/sak/drop-me /tmp/sak/also
    printf '%s\n' /tmp/sak/keep-me /tmp/sak/drop-me /tmp/sak/also | baseStripAndKeep keep al
    want "kept" test -e /tmp/sak/keep-me -a -e /tmp/sak/also
    want "dropped" test ! -e /tmp/sak/drop-me
}
t_baseStripLocales() {
    mkdir -p /usr/lib/locale/de_DE.utf8 /usr/lib/locale/fr_FR.utf8
    baseStripLocales de_DE C.utf8
    want "kept" test -d /usr/lib/locale/de_DE.utf8 -a -d /usr/lib/locale/C.utf8
    want "dropped" test ! -e /usr/lib/locale/fr_FR.utf8
}
t_baseStripTranslations() {
    want "catalogs to strip" test "$(find /usr/share/locale -name '*.mo' | grep -vc /de/)" -gt 0
    local de
    de=$(find /usr/share/locale -name '*.mo' -path '*/de/*' | wc -l)
    baseStripTranslations /de/
    want "others dropped" test "$(find /usr/share/locale -name '*.mo' | grep -vc /de/ || true)" = 0
    want "matching kept" test "$(find /usr/share/locale -name '*.mo' -path '*/de/*' | wc -l)" = "${de}"
}
t_baseStripMans() {
    mkdir -p /usr/share/man/man1
    touch /usr/share/man/man1/keep.1.gz /usr/share/man/man1/drop.1.gz
    baseStripMans keep
    want "kept" test -e /usr/share/man/man1/keep.1.gz
    want "dropped" test ! -e /usr/share/man/man1/drop.1.gz
}
t_baseStripInfos() {
    mkdir -p /usr/share/info
    touch /usr/share/info/keep.info.gz /usr/share/info/drop.info.gz
    baseStripInfos keep
    want "kept" test -e /usr/share/info/keep.info.gz
    want "dropped" test ! -e /usr/share/info/drop.info.gz
}
t_baseStripDocs() {
    mkdir -p /usr/share/doc/kiwi-pkg /usr/share/man/man1 /usr/share/info
    touch /usr/share/doc/kiwi-pkg/README /usr/share/doc/kiwi-pkg/copyright /usr/share/doc/kiwi-pkg/LICENSE.txt
    baseStripDocs
    want "README dropped" test ! -e /usr/share/doc/kiwi-pkg/README
    want "copyright and license kept" test -e /usr/share/doc/kiwi-pkg/copyright -a -e /usr/share/doc/kiwi-pkg/LICENSE.txt
    want "no other documentation" test "$(find /usr/share/doc -type f ! -iname '*copyright*' ! -iname '*license*' ! -iname '*copying*' | wc -l)" = 0
    want "man and info gone" test ! -e /usr/share/man -a ! -e /usr/share/info
}
t_baseStripTools() {
    mkdir -p /tmp/tools/sub
    touch /tmp/tools/a /tmp/tools/b /tmp/tools/sub/c
    baseStripTools /tmp/tools "a c" >/dev/null
    want "kept" test -e /tmp/tools/a -a -e /tmp/tools/sub/c
    want "dropped" test ! -e /tmp/tools/b
}
initrd_dracut() { # the strip is KIWI's own initrd's: with dracut it does nothing
    local before
    before=$(ls /usr/bin | wc -l)
    want "$1 skipped for dracut" grep -q "strip skipped" <<<"$(kiwi_initrd_system=dracut "$1")"
    want "nothing removed" test "$(ls /usr/bin | wc -l)" = "${before}"
}
t_baseStripInitrd() { initrd_dracut baseStripInitrd; }
t_suseStripInitrd() { initrd_dracut suseStripInitrd; }
t_rhelStripInitrd() { initrd_dracut rhelStripInitrd; }
t_debianStripInitrd() { initrd_dracut debianStripInitrd; }
t_baseStripFirmware() {
    local e100 fw
    e100=$(find /lib/modules -name 'e100.ko*' | head -n 1)
    fw=$(modinfo -F firmware "${e100}" | head -n 1)
    want "a module that names firmware" test -n "${fw}"
    mkdir -p "/lib/firmware/$(dirname "${fw}")" /lib/firmware/unused
    touch "/lib/firmware/${fw}" /lib/firmware/unused/blob.bin /lib/firmware/LICENSE.unused
    baseStripFirmware
    want "needed firmware kept" test -e "/lib/firmware/${fw}"
    want "license kept" test -e /lib/firmware/LICENSE.unused
    want "unused firmware dropped" test ! -e /lib/firmware/unused/blob.bin
}
t_baseKernelDriverMatches() {
    kiwi_drivers="virtio,fs/btrfs"
    want "match" baseKernelDriverMatches /kernel-tree/6.1/kernel/fs/btrfs/btrfs.ko
    if baseKernelDriverMatches /kernel-tree/6.1/kernel/fs/ext4/ext4.ko; then
        echo "expected: no match for ext4" >&2
        return 1
    fi
}
t_baseCreateKernelTree() {
    baseCreateKernelTree >/dev/null
    want "a copy of every module" test "$(find /kernel-tree -name '*.ko*' | wc -l)" = "$(modules)"
}
t_baseStripKernelModules() {
    kiwi_drivers=fs/btrfs baseStripKernelModules >/dev/null
    want "only btrfs left" test "$(find /kernel-tree -name '*.ko*' | xargs -n1 basename)" = btrfs.ko
}
t_baseFixupKernelModuleDependencies() {
    baseFixupKernelModuleDependencies >/dev/null
    local dep
    for dep in $(btrfs_set); do
        want "${dep} back" test -f "/kernel-tree/${dep#lib/modules/}"
    done
    want "nothing else" test "$(find /kernel-tree -name '*.ko*' | wc -l)" = "$(btrfs_set | wc -l)"
}
t_baseSyncKernelTree() {
    baseSyncKernelTree >/dev/null
    want "the tree replaced /lib/modules" test "$(modules)" = "$(btrfs_set | wc -l)"
    want "kernel tree gone" test ! -e /kernel-tree
}
t_baseUpdateModuleDependencies() {
    baseUpdateModuleDependencies
    want "modules.dep of the modules left" test "$(wc -l </lib/modules/*/modules.dep)" = "$(modules)"
    want "btrfs resolvable" modprobe --set-version "$(kver)" --show-depends btrfs >/dev/null
}
t_baseStripModules() {
    local btrfs v
    btrfs=$(find /lib/modules -name 'btrfs.ko*')
    v=$(basename "$(dirname "$(find /lib/modules -mindepth 2 -maxdepth 2 -name kernel)")")
    mkdir -p "/lib/modules/${v}/updates"
    cp "${btrfs}" "/lib/modules/${v}/updates/"
    baseStripModules >/dev/null
    want "old version removed" test ! -e "${btrfs}"
    want "update kept" test -e "/lib/modules/${v}/updates/$(basename "${btrfs}")"
    want "nothing to do said" grep -q "No old versions" <<<"$(baseStripModules)"
    rm -rf "/lib/modules/${v}/updates"
}
t_baseStripKernel() {
    mkdir -p /usr/share/kiwi-strip-me
    kiwi_initrd_system=none kiwi_drivers=xor kiwi_strip_delete=/usr/share/kiwi-strip-me baseStripKernel >/dev/null
    want "strip delete" test ! -e /usr/share/kiwi-strip-me
    want "only xor under kernel/" test "$(find /lib/modules/*/kernel -name '*.ko*' | xargs -n1 basename)" = xor.ko
    want "depmod ran" grep -q xor.ko /lib/modules/*/modules.dep
    want "dracut: skipped" grep -q "strip skipped" <<<"$(kiwi_initrd_system=dracut baseStripKernel)"
}
kernel_dracut() {
    local before
    before=$(modules)
    want "$1 skipped for dracut" grep -q "kernel strip skipped" <<<"$(kiwi_initrd_system=dracut "$1")"
    want "modules kept" test "$(modules)" = "${before}"
}
t_suseStripKernel() { kernel_dracut suseStripKernel; }
t_rhelStripKernel() { kernel_dracut rhelStripKernel; }
t_debianStripKernel() { kernel_dracut debianStripKernel; }
t_rhelSplashToGrub() {
    mkdir -p /boot/grub
    touch /boot/grub/splash.xpm.gz
    rhelSplashToGrub
    want "moved" test -e /usr/lib/grub/splash.xpm.gz -a ! -e /boot/grub/splash.xpm.gz
}
t_baseCleanup() {
    mkdir -p /var/lib/systemd
    touch /var/lib/systemd/random-seed
    baseCleanup
    want "random seed gone" test ! -e /var/lib/systemd/random-seed
}
t_suseCleanup() {
    touch /var/lib/systemd/random-seed
    suseCleanup
    want "random seed gone" test ! -e /var/lib/systemd/random-seed
}
t_baseGetPackagesForDeletion() {
    want "kiwi_delete" [ "$(kiwi_delete="a b" baseGetPackagesForDeletion)" = "a b" ]
}
t_baseGetProfilesUsed() {
    want "kiwi_profiles" [ "$(kiwi_profiles=A,B baseGetProfilesUsed)" = A,B ]
}
t_baseCleanMount() { want "notice" grep -q DEPRECATED <<<"$(baseCleanMount 2>&1)"; }
t_baseMount() { want "notice" grep -q DEPRECATED <<<"$(baseMount 2>&1)"; }
t_suseConfig() { want "notice" grep -q DEPRECATED <<<"$(suseConfig 2>&1)"; }
# Last: these leave little of the root.
t_baseStripUnusedLibs() {
    local dir=/usr/lib/x86_64-linux-gnu
    cp "${dir}/libz.so.1" "${dir}/libkiwiunused.so.1"
    cp "${dir}/libz.so.1" "${dir}/libkiwikeep.so.1"
    baseStripUnusedLibs libkiwikeep >/dev/null
    want "unused removed" test ! -e "${dir}/libkiwiunused.so.1"
    want "named one kept" test -e "${dir}/libkiwikeep.so.1"
    want "programs still run" bash -c 'ls / >/dev/null && systemctl --version >/dev/null && modprobe --version >/dev/null'
}
t_baseStripInitrdNotDracut() {
    kiwi_initrd_system=none kiwi_strip_tools="bash ls sort xargs" baseStripInitrd find basename rm >/dev/null
    # Builtins only: the strip leaves just these programs.
    local left=(/usr/bin/*)
    left=("${left[@]##*/}")
    want "only the tools kept" test "${left[*]}" = "basename bash find ls rm sort xargs"
    want "usr-merged /bin kept" test -L /bin
}

# The harness, when run (not when sourced by a check): each check in a
# strict bash of its own, with the library sourced; the results go to
# /tmp/kconfig-results. Only bash builtins from here on: the last checks
# leave few programs in the root.
if [ -z "${KCONFIG_CHECK:-}" ]; then
    export KCONFIG_CHECK=1
    order=$(grep -oE '^t_[A-Za-z]+\(\)' "$0" | sed 's/^t_//; s/()$//')
    : >/tmp/kconfig-results
    for name in ${order}; do
        if out=$(bash -euo pipefail -c '. /.kconfig; . "$1"; "t_$2"' bash "$0" "${name}" 2>&1); then
            if [[ ${out} == *"skip: "* ]]; then
                reason=${out#*skip: }
                echo "skip ${name}: ${reason%%$'\n'*}" >>/tmp/kconfig-results
            else
                echo "ok ${name}" >>/tmp/kconfig-results
            fi
        else
            out=${out//$'\n'/|}
            if ((${#out} > 700)); then out=${out: -700}; fi
            echo "FAIL ${name}: ${out:-failed without output: set -e ended it}" >>/tmp/kconfig-results
        fi
    done
fi
