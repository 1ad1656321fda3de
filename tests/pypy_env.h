/* Finding a real sandbox-2 PyPy for the tests that run one (header-only, like
 * testutil.h).
 *
 * Each build is named by an environment variable holding its executable:
 * PYPY_SANDBOX (pypy2) and PYPY3_SANDBOX (pypy3); `make test` sets both to the
 * builds `make pypy-fixtures` unpacked into $(BUILD)/pypy. Its library tree
 * (the directory holding lib-python/ and lib_pypy/, which is what --lib-path
 * takes) is VAR_LIB when set (PYPY_SANDBOX_LIB, PYPY3_SANDBOX_LIB), else the
 * first directory holding both, looked for beside the executable and then up
 * to two levels above it: DIR/bin/pypy-c-sandbox in an unpacked build,
 * CHECKOUT/pypy/goal/pypy-c-sandbox in a PyPy checkout. */
#ifndef SANDTRACE_TESTS_PYPY_ENV_H
#define SANDTRACE_TESTS_PYPY_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tu_pypy {
    const char *name; /* "pypy2" or "pypy3": what test names and messages say */
    const char *var;  /* the environment variable naming the executable */
    char exe[4096];
    char lib[4096];   /* for --lib-path */
};

static inline int tu__is_dir(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Looks up the build that `var` names. Returns 1 with *out filled in; 0 when
 * the variable is unset or empty (the caller skips, and `why` says so); -1
 * when it is set but the executable or its library tree cannot be found (a
 * broken setup, which the caller fails on: `why` says what is missing). */
static inline int tu_pypy_find(const char *name, const char *var, struct tu_pypy *out,
                               char *why, size_t why_cap)
{
    out->exe[0] = out->lib[0] = '\0';
    out->name = name;
    out->var = var;
    const char *exe = getenv(var);
    if (!exe || !*exe) {
        snprintf(why, why_cap, "%s is not set (no real %s sandbox build on this machine)", var,
                 name);
        return 0;
    }
    snprintf(out->exe, sizeof out->exe, "%s", exe);
    if (access(exe, X_OK) != 0) {
        snprintf(why, why_cap, "%s='%s' is not an executable", var, exe);
        return -1;
    }
    char lib_var[64];
    snprintf(lib_var, sizeof lib_var, "%s_LIB", var);
    const char *lib = getenv(lib_var);
    if (lib && *lib) {
        snprintf(out->lib, sizeof out->lib, "%s", lib);
    } else {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", exe);
        for (int up = 0; up < 3 && !out->lib[0]; up++) {
            char *slash = strrchr(dir, '/');
            if (!slash)
                break;
            *slash = '\0';
            if (tu__is_dir(dir, "lib-python") && tu__is_dir(dir, "lib_pypy"))
                snprintf(out->lib, sizeof out->lib, "%s", dir);
        }
    }
    if (!out->lib[0] || !tu__is_dir(out->lib, "lib-python")) {
        snprintf(why, why_cap,
                 "no lib-python and lib_pypy beside '%s' nor up to two levels above it "
                 "(set %s to the directory holding them)", exe, lib_var);
        return -1;
    }
    return 1;
}

/* The two builds, in the order tests run them; pass one as a cmocka test's
 * initial state (cmocka_unit_test_prestate) to run the test against it. */
static struct tu_pypy tu_pypy2 = { .name = "pypy2", .var = "PYPY_SANDBOX" };
static struct tu_pypy tu_pypy3 = { .name = "pypy3", .var = "PYPY3_SANDBOX" };

/* Two cmocka tests of `f`, one per build, named "f(pypy2)" and "f(pypy3)" so
 * that a failure says which build it was. */
#define TU_PYPY_TESTS(f)                                              \
    { #f "(pypy2)", f, NULL, NULL, &tu_pypy2 },                       \
    { #f "(pypy3)", f, NULL, NULL, &tu_pypy3 }

/* In a cmocka test whose state is &tu_pypy2 or &tu_pypy3: looks the build up
 * into it, skips the test (saying why) when its variable is unset, and fails
 * it when the variable names no usable build. */
#define TU_NEED_PYPY(p)                                                          \
    do {                                                                         \
        char why_[8400];                                                         \
        int found_ = tu_pypy_find((p)->name, (p)->var, (p), why_, sizeof why_);  \
        if (found_ == 0) {                                                       \
            print_message("skipping: %s\n", why_);                               \
            skip();                                                              \
            return;                                                              \
        }                                                                        \
        if (found_ < 0)                                                          \
            fail_msg("%s", why_);                                                \
    } while (0)

#endif
