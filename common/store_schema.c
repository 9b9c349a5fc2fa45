/* store_schema.c - schemas/store.sql compiled into the binary (NUL-terminated).
 * The assembler includes the file at build time (paths relative to the repository root,
 * where make runs); the Makefile already rebuilds every object when it changes. */
#include <stddef.h>

__asm__(".section .rodata\n"
        ".global fc_store_schema_sql\n"
        ".type fc_store_schema_sql, @object\n"
        ".balign 16\n"
        "fc_store_schema_sql:\n"
        ".incbin \"schemas/store.sql\"\n"
        ".byte 0\n"
        ".size fc_store_schema_sql, . - fc_store_schema_sql\n"
        ".previous\n");
