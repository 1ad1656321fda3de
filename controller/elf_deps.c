/* Reading an ELF object's loader needs, bounds-checked (controller/elf_deps.h). */
#include "controller/elf_deps.h"

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/error.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define NATIVE_MACHINE EM_PPC64
#elif defined(__s390x__)
#define NATIVE_MACHINE EM_S390
#else
#error "elf_deps: unknown machine"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

/* Reads exactly `len` bytes at `off`, which the caller checked lie in the
 * file; a short read (the file shrank) is an error too. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ST_E_IO;
        if (n == 0)
            return ST_E_ELF;
        got += (size_t)n;
    }
    return 0;
}

/* [off, off + len) lies within a file of `size` bytes (no overflow). */
static int in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* Copies the NUL-terminated string at `off` (at most `limit` bytes are
 * available there, NUL included) into the arena. */
static int read_string(int fd, uint64_t off, uint64_t limit, struct st_elf_deps *out,
                       const char **dst)
{
    size_t room = sizeof out->arena - out->arena_used;
    size_t want = limit < ST_ELF_MAX_STR ? (size_t)limit : ST_ELF_MAX_STR;
    if (want > room)
        want = room;
    if (want == 0)
        return ST_E_ELF;
    char *at = out->arena + out->arena_used;
    /* The string may end before `want` bytes and the file may end right
     * after it: read what is there, then look for the NUL. */
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd, at + got, want - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ST_E_IO;
        if (n == 0)
            break;
        if (memchr(at + got, 0, (size_t)n)) {
            got += (size_t)n;
            break;
        }
        got += (size_t)n;
    }
    char *nul = memchr(at, 0, got);
    if (!nul)
        return ST_E_ELF;
    out->arena_used += (size_t)(nul - at) + 1;
    *dst = at;
    return 0;
}

/* Reads and checks the ELF header of the file (`size` bytes): a 64-bit
 * executable or shared object of this machine with sane program headers. */
static int read_ehdr(int fd, uint64_t size, Elf64_Ehdr *eh)
{
    int rc = read_at(fd, eh, sizeof *eh, 0);
    if (rc < 0)
        return rc;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != NATIVE_DATA || eh->e_ident[EI_VERSION] != EV_CURRENT ||
        (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) || eh->e_machine != NATIVE_MACHINE ||
        eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
        eh->e_phnum > ST_ELF_MAX_PHDRS ||
        !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
        return ST_E_ELF;
    return 0;
}

/* What the dynamic section names: string-table offsets of the needed
 * libraries and the search paths, and where the string table is. */
struct dyn_info {
    uint64_t needed[ST_ELF_MAX_NEEDED];
    size_t nneeded;
    uint64_t strtab, strsz, runpath, rpath;
    int have_strtab, have_strsz;
};

static int read_dynamic(int fd, const Elf64_Phdr *dyn_ph, uint64_t size, struct dyn_info *di)
{
    memset(di, 0, sizeof *di);
    di->runpath = di->rpath = UINT64_MAX;
    uint64_t ndyn = dyn_ph->p_filesz / sizeof(Elf64_Dyn);
    if (!in_file(dyn_ph->p_offset, ndyn * sizeof(Elf64_Dyn), size))
        return ST_E_ELF;
    if (ndyn > ST_ELF_MAX_DYN)
        ndyn = ST_ELF_MAX_DYN;
    for (uint64_t i = 0; i < ndyn; i++) {
        Elf64_Dyn d;
        int rc = read_at(fd, &d, sizeof d, dyn_ph->p_offset + i * sizeof d);
        if (rc < 0)
            return rc;
        if (d.d_tag == DT_NULL)
            break;
        switch (d.d_tag) {
        case DT_NEEDED:
            if (di->nneeded == ST_ELF_MAX_NEEDED)
                return ST_E_ELF;
            di->needed[di->nneeded++] = d.d_un.d_val;
            break;
        case DT_STRTAB: di->strtab = d.d_un.d_ptr; di->have_strtab = 1; break;
        case DT_STRSZ: di->strsz = d.d_un.d_val; di->have_strsz = 1; break;
        case DT_RUNPATH: di->runpath = d.d_un.d_val; break;
        case DT_RPATH: di->rpath = d.d_un.d_val; break;
        default: break;
        }
    }
    return 0;
}

/* DT_STRTAB is an address: the file offset of the loaded segment's bytes
 * holding the whole table, in *str_off. */
static int strtab_offset(const Elf64_Phdr *ph, size_t phnum, const struct dyn_info *di,
                         uint64_t size, uint64_t *str_off)
{
    *str_off = UINT64_MAX;
    for (size_t i = 0; i < phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_LOAD && di->strtab >= p->p_vaddr &&
            di->strtab - p->p_vaddr < p->p_filesz) {
            uint64_t delta = di->strtab - p->p_vaddr;
            if (p->p_offset > UINT64_MAX - delta)
                return ST_E_ELF;
            *str_off = p->p_offset + delta;
            /* The table must lie in the segment's file bytes. */
            if (di->strsz > p->p_filesz - delta)
                return ST_E_ELF;
            break;
        }
    }
    if (*str_off == UINT64_MAX || !in_file(*str_off, di->strsz, size))
        return ST_E_ELF;
    return 0;
}

/* The string at offset `at` of the string table (at file offset str_off). */
static int read_dyn_string(int fd, uint64_t str_off, const struct dyn_info *di, uint64_t at,
                           struct st_elf_deps *out, const char **dst)
{
    if (at >= di->strsz)
        return ST_E_ELF;
    return read_string(fd, str_off + at, di->strsz - at, out, dst);
}

/* The needed libraries, RUNPATH and RPATH of the dynamic section. */
static int read_dyn_strings(int fd, const Elf64_Phdr *ph, size_t phnum, const struct dyn_info *di,
                            uint64_t size, struct st_elf_deps *out)
{
    if (di->nneeded == 0 && di->runpath == UINT64_MAX && di->rpath == UINT64_MAX)
        return 0;
    if (!di->have_strtab || !di->have_strsz)
        return ST_E_ELF;
    uint64_t str_off;
    int rc = strtab_offset(ph, phnum, di, size, &str_off);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < di->nneeded; i++) {
        if ((rc = read_dyn_string(fd, str_off, di, di->needed[i], out, &out->needed[i])) < 0)
            return rc;
        if (!out->needed[i][0])
            return ST_E_ELF;
    }
    out->nneeded = di->nneeded;
    if (di->runpath != UINT64_MAX &&
        (rc = read_dyn_string(fd, str_off, di, di->runpath, out, &out->runpath)) < 0)
        return rc;
    if (di->rpath != UINT64_MAX &&
        (rc = read_dyn_string(fd, str_off, di, di->rpath, out, &out->rpath)) < 0)
        return rc;
    return 0;
}

int st_elf_deps_read(int fd, struct st_elf_deps *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ST_E_IO;
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
        return ST_E_ELF;
    uint64_t size = (uint64_t)st.st_size;
    Elf64_Ehdr eh;
    int rc = read_ehdr(fd, size, &eh);
    if (rc < 0)
        return rc;
    out->type = eh.e_type;
    Elf64_Phdr ph[ST_ELF_MAX_PHDRS];
    rc = read_at(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
    if (rc < 0)
        return rc;
    const Elf64_Phdr *dyn_ph = NULL;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        /* The kernel and the loader use the first of each. */
        if (p->p_type == PT_INTERP && !out->interp) {
            if (p->p_filesz < 2 || p->p_filesz > ST_ELF_MAX_STR ||
                !in_file(p->p_offset, p->p_filesz, size))
                return ST_E_ELF;
            rc = read_string(fd, p->p_offset, p->p_filesz, out, &out->interp);
            if (rc < 0)
                return rc;
        } else if (p->p_type == PT_DYNAMIC && !dyn_ph) {
            dyn_ph = p;
        }
    }
    if (!dyn_ph)
        return 0;
    out->dynamic = 1;
    struct dyn_info di;
    if ((rc = read_dynamic(fd, dyn_ph, size, &di)) < 0)
        return rc;
    return read_dyn_strings(fd, ph, eh.e_phnum, &di, size, out);
}
