# Sourced by the hack scripts: the build tags every go command needs and
# the PATH with Go and the test tools hack/test.sh builds (bin/tools) on it.
PATH=$PATH:/usr/local/go/bin:$PWD/bin/tools
export PATH
# No btrfs graph driver (needs libbtrfs-dev) and OpenPGP in Go instead of
# gpgme (needs libgpgme-dev): kiwi builds with nothing but Go and gcc.
KIWI_TAGS="exclude_graphdriver_btrfs containers_image_openpgp"
