/* tools/corpus_list.h: the traces a many-trace command works on (`index`,
 * `replay --check -j`): the paths given, where a directory stands for the
 * `*.sbt` files directly in it, in name order. */
#ifndef SANDTRACE_TOOLS_CORPUS_LIST_H
#define SANDTRACE_TOOLS_CORPUS_LIST_H

#include <stddef.h>

struct corpus_list {
    char **paths;   /* owned */
    size_t n, cap;
};

/* Adds `path`: a directory adds its *.sbt files (not recursively, sorted
 * by name, hidden files left out); anything else is added as it is (a file
 * that turns out unreadable is the command's to report). 0, or -1 with
 * errno set (ENOMEM, or why the directory cannot be read). */
int corpus_list_add(struct corpus_list *l, const char *path);

/* Frees the paths; the list is empty again. */
void corpus_list_release(struct corpus_list *l);

#endif
