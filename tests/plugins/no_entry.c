/* A shared library that is not a sandtrace plugin: no entry point. */
int no_entry_answer(void);
int no_entry_answer(void)
{
    return 42;
}
