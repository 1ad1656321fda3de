# examples/: plugins (examples/plugins/NAME.c -> $(BUILD)/plugins/NAME.so),
# built against the source tree's headers exactly as an out-of-tree plugin
# is built against the installed ones, and handler programs (run as they are).
PLUGIN_NAMES := $(sort $(patsubst examples/plugins/%.c,%,$(wildcard examples/plugins/*.c)))
PLUGINS := $(addprefix $(BUILD)/plugins/,$(addsuffix .so,$(PLUGIN_NAMES)))

# No sanitizer flags: the plugin is loaded into whatever sandtrace there is.
$(BUILD)/plugins/%.so: examples/plugins/%.c $(INSTALL_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fPIC -shared -o $@ $<

all: $(PLUGINS)

# Test-only plugins (tests/plugins/NAME.c -> $(BUILD)/testplugins/NAME.so):
# an old ABI version, a library with no entry point, an init that refuses.
TEST_PLUGINS := $(patsubst tests/plugins/%.c,$(BUILD)/testplugins/%.so,$(wildcard tests/plugins/*.c))
$(BUILD)/testplugins/%.so: tests/plugins/%.c $(INSTALL_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fPIC -shared -o $@ $<

all: $(TEST_PLUGINS)
