# SPDX-License-Identifier: BSD-2-Clause
# The fuzz targets, built with clang's libFuzzer: a sub-make that Makefile.am's
# fuzz block calls (make -f fuzz.mk TARGETS...) with top_srcdir, FUZZ_CC,
# WARN_CFLAGS, DEP_CFLAGS, DEP_LIBS, sysconfdir, packagedir and LIB_SOURCES (the
# library's source list, LIOTAD_SOURCES). The library is compiled again
# here because libFuzzer needs clang's coverage instrumentation in the code
# under test, and automake cannot give a target another compiler; a plain
# GNU makefile keeps that rebuild incremental (with header dependencies) and
# parallel, which a script compiling every file each time would not.
# Everything it writes is under tests/fuzz/ of the build tree.

FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1
# The same as Makefile.am's AM_CPPFLAGS.
FUZZ_CPPFLAGS = -include ./ltconfig.h -I. -I$(top_srcdir)/include -I$(top_srcdir)/include/uapi \
	-I$(top_srcdir)/src/core \
	-I$(top_srcdir)/src -DSYSCONFDIR='"$(sysconfdir)"' -DLT_PACKAGE_DIR='"$(packagedir)"'
# gcc's build holds the library to -Werror; clang's extra warnings on it
# (-Wformat-nonliteral in va_list helpers) are shown, not fatal. The targets'
# own files get WARN_CFLAGS as they are.
FUZZ_CFLAGS = -std=gnu11 $(DEP_CFLAGS) $(FUZZ_SAN) -pthread
LIB_WARN = $(filter-out -Werror,$(WARN_CFLAGS))

OBJ = tests/fuzz/obj
LIB = tests/fuzz/libliotad_fuzz.a
LIB_OBJS = $(patsubst %.c,$(OBJ)/%.o,$(filter %.c,$(LIB_SOURCES)))

# Compiled for coverage (fuzzer-no-link); main() comes from libFuzzer at link time.
$(OBJ)/%.o: $(top_srcdir)/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $@"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(LIB_WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c $< -o $@

$(OBJ)/tests/fuzz/%.o: $(top_srcdir)/tests/fuzz/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $@"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(WARN_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD \
		-MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	@echo "  FUZZAR   $@"
	@ar rcs $@ $^

tests/fuzz/%.fuzz: $(OBJ)/tests/fuzz/fuzz_%.o $(LIB)
	@echo "  FUZZLD   $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread $^ $(DEP_LIBS) -o $@

-include $(LIB_OBJS:.o=.d) $(wildcard $(OBJ)/tests/fuzz/*.d)
.DELETE_ON_ERROR:
