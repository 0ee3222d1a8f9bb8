/* SPDX-License-Identifier: MIT */
/*
 * jitlines PROG_ID: one line per source line of a loaded BPF program's JIT
 * image, "OFFSET LINE TEXT", OFFSET in hex from the program's symbol.  With
 * perf's sym+offset samples (tests/bench/profile.sh) it says which source
 * lines the kernel time goes to, without a disassembler in bpftool.  Offsets
 * count from the main function: programs without BPF-to-BPF calls (as mace's).
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), nline, njit;
	struct bpf_line_info *lines = NULL;
	__u64 *jit = NULL, sym = 0;
	struct btf *btf = NULL;
	int fd, ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: jitlines PROG_ID\n");
		return 2;
	}
	fd = bpf_prog_get_fd_by_id(atoi(argv[1]));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "jitlines: program %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	nline = info.nr_line_info;
	njit = info.nr_jited_line_info;
	if (!nline || njit != nline || !info.btf_id) {
		fprintf(stderr, "jitlines: program %s has no line info for its JIT image\n", argv[1]);
		goto out;
	}
	lines = calloc(nline, sizeof(*lines));
	jit = calloc(njit, sizeof(*jit));
	if (!lines || !jit)
		goto out;
	/* Second call: the arrays, and the symbol address offsets count from. */
	memset(&info, 0, sizeof(info));
	info.nr_line_info = nline;
	info.line_info_rec_size = sizeof(*lines);
	info.line_info = (unsigned long)lines;
	info.nr_jited_line_info = njit;
	info.jited_line_info_rec_size = sizeof(*jit);
	info.jited_line_info = (unsigned long)jit;
	info.nr_jited_ksyms = 1;
	info.jited_ksyms = (unsigned long)&sym;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "jitlines: program %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf) {
		fprintf(stderr, "jitlines: BTF %u: %s\n", info.btf_id, strerror(errno));
		goto out;
	}
	for (__u32 i = 0; i < nline; i++) {
		const char *text = btf__name_by_offset(btf, lines[i].line_off);

		while (text && (*text == ' ' || *text == '\t'))
			text++;
		printf("%llx %u %s\n", (unsigned long long)(jit[i] - sym),
		       BPF_LINE_INFO_LINE_NUM(lines[i].line_col), text ? text : "");
	}
	ret = 0;
out:
	btf__free(btf);
	free(lines);
	free(jit);
	close(fd);
	return ret;
}
