################################################################################
#
# midge
#
################################################################################

MIDGE_VERSION = 0.1.0
# The release tag MIDGE_VERSION, fetched with git from the repository that
# holds this BR2_EXTERNAL tree (or from MIDGE_SITE given on the command
# line), so Buildroot vendors the Go modules at download time and the
# tarball's hash is checked (midge.hash). For work on an uncommitted tree,
# use MIDGE_OVERRIDE_SRCDIR (docs/packaging.md), which skips the download
# and so needs `make vendor` in that tree.
MIDGE_SITE = $(BR2_EXTERNAL_MIDGE_PATH)/..
MIDGE_SITE_METHOD = git
MIDGE_LICENSE = Proprietary
MIDGE_GOMOD = midge
MIDGE_BUILD_TARGETS = cmd/midge
# A static binary, as measured in docs/size.md; Buildroot would otherwise
# build Go packages with cgo whenever the toolchain allows.
MIDGE_GO_ENV = CGO_ENABLED=0
MIDGE_LDFLAGS = -s -w -X midge/broker.Version=$(MIDGE_VERSION)
# Build tags: tls adds TLS listeners (about +1.5 MiB on MIPS); nocli, nopersist,
# noauth, nows, nonet, notoml make smaller images (docs/size.md).
MIDGE_TAGS = tls

define MIDGE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(BR2_EXTERNAL_MIDGE_PATH)/package/midge/S50midge \
		$(TARGET_DIR)/etc/init.d/S50midge
endef

# The unit is shared with the Debian package (packaging/ in the source).
define MIDGE_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/packaging/midge.service \
		$(TARGET_DIR)/usr/lib/systemd/system/midge.service
endef

define MIDGE_USERS
	midge -1 midge -1 * /var/lib/midge - - midge MQTT broker
endef

define MIDGE_INSTALL_CONF
	$(INSTALL) -D -m 0644 $(@D)/packaging/midge.toml \
		$(TARGET_DIR)/etc/midge/midge.toml
	ln -sf midge $(TARGET_DIR)/usr/bin/midge-pub
	ln -sf midge $(TARGET_DIR)/usr/bin/midge-sub
	ln -sf midge $(TARGET_DIR)/usr/bin/midge-rr
endef
MIDGE_POST_INSTALL_TARGET_HOOKS += MIDGE_INSTALL_CONF

$(eval $(golang-package))
