/* SPDX-License-Identifier: MIT */
/* CSV and JSON records: exact text, round trips, malformed input. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "mace.h"
#include "t.h"

static struct mace_record sample(void)
{
	struct mace_record r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.ts_ns = 123456789012ULL;
	r.latency_ns = 25300;
	r.nseg = 3;
	r.seg_ns[0] = 1000;
	r.seg_ns[1] = MACE_SEG_UNKNOWN;
	r.seg_ns[2] = 24300;
	for (int i = 3; i < MACE_MAX_SEGMENTS; i++)
		r.seg_ns[i] = MACE_SEG_UNKNOWN;
	r.netns = 4026532001u;
	r.len = 84;
	r.seq = 7;
	r.id = 4242;
	r.cpu_start = 1;
	r.cpu_end = 3;
	r.dir = MACE_EGRESS;
	r.proto = 1;
	r.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", r.src);
	inet_pton(AF_INET, "192.168.1.1", r.dst);
	r.path_id = 0;
	return r;
}

static void round_trip(const struct mace_record *r, const char *name, enum mace_format fmt)
{
	char line[1024], back[64];
	struct mace_record p = { .sz = sizeof(p) };
	int n = mace_record_format(r, name, fmt, line, sizeof(line));

	CHECK(n > 0 && (size_t)n < sizeof(line));
	CHECK(line[n - 1] == '\n');
	CHECK_EQ_U64(mace_record_parse(line, fmt, &p, back, sizeof(back)), 0);
	CHECK_STR(back, name);
	/* path_id is not in the text; the rest must come back bit for bit */
	p.path_id = r->path_id;
	CHECK(!memcmp(&p, r, sizeof(p)));
}

TEST(csv_exact_text)
{
	struct mace_record r = sample();
	char line[512];
	int n;

	CHECK_STR(mace_csv_header(), "ts_ns,netns,dir,path,latency_ns,segments,proto,src,dst,id,"
				     "sport,dport,seq,len,cpu_start,cpu_end\n");
	n = mace_record_format(&r, "inner-dev", MACE_FORMAT_CSV, line, sizeof(line));
	CHECK_STR(line, "123456789012,4026532001,egress,inner-dev,25300,1000;-;24300,icmp,"
			"10.0.0.2,192.168.1.1,4242,0,0,7,84,1,3\n");
	CHECK_EQ_U64(n, strlen(line));
}

TEST(json_exact_text)
{
	struct mace_record r = sample();
	char line[512];

	mace_record_format(&r, "we\"ird\\\x01", MACE_FORMAT_JSON, line, sizeof(line));
	CHECK_STR(line, "{\"ts_ns\":123456789012,\"netns\":4026532001,\"dir\":\"egress\","
			"\"path\":\"we\\\"ird\\\\\\u0001\",\"latency_ns\":25300,"
			"\"segments\":[1000,null,24300],\"proto\":\"icmp\",\"src\":\"10.0.0.2\","
			"\"dst\":\"192.168.1.1\",\"id\":4242,\"sport\":0,\"dport\":0,\"seq\":7,"
			"\"len\":84,\"cpu_start\":1,\"cpu_end\":3}\n");
}

/* Records with their container: three more columns (quoted when needed) or
 * fields, and both read back as the record itself. */
TEST(container_columns)
{
	struct mace_record r = sample(), p = { .sz = sizeof(p) };
	struct mace_container ct = { .sz = sizeof(ct) };
	char line[1024], back[64];

	strcpy(ct.name, "web,1");
	strcpy(ct.pod, "shop-0");
	strcpy(ct.pod_namespace, "prod");
	CHECK_STR(mace_csv_header_container(), "ts_ns,netns,dir,path,latency_ns,segments,proto,"
		  "src,dst,id,sport,dport,seq,len,cpu_start,cpu_end,container,pod,namespace\n");
	mace_record_format_container(&r, "inner-dev", &ct, MACE_FORMAT_CSV, line, sizeof(line));
	CHECK_STR(line, "123456789012,4026532001,egress,inner-dev,25300,1000;-;24300,icmp,"
			"10.0.0.2,192.168.1.1,4242,0,0,7,84,1,3,\"web,1\",shop-0,prod\n");
	CHECK_EQ_U64(mace_record_parse(line, MACE_FORMAT_CSV, &p, back, sizeof(back)), 0);
	p.path_id = r.path_id;
	CHECK(!memcmp(&p, &r, sizeof(p)));
	mace_record_format_container(&r, "inner-dev", &ct, MACE_FORMAT_JSON, line, sizeof(line));
	CHECK(strstr(line, ",\"cpu_end\":3,\"container\":\"web,1\",\"pod\":\"shop-0\","
			   "\"namespace\":\"prod\"}\n") != NULL);
	CHECK_EQ_U64(mace_record_parse(line, MACE_FORMAT_JSON, &p, back, sizeof(back)), 0);
	/* a caller's older, smaller struct: what it lacks is "" */
	ct.sz = offsetof(struct mace_container, pod);
	mace_record_format_container(&r, "inner-dev", &ct, MACE_FORMAT_CSV, line, sizeof(line));
	CHECK(strstr(line, ",1,3,\"web,1\",,\n") != NULL);
	/* one column too many or too few is no record */
	mace_record_format_container(&r, "inner-dev", &ct, MACE_FORMAT_CSV, line, sizeof(line));
	strcpy(strchr(line, '\n'), ",x\n");
	CHECK(mace_record_parse(line, MACE_FORMAT_CSV, &p, back, sizeof(back)) == -EINVAL);
	strcpy(strrchr(line, ','), "\n");
	strcpy(strrchr(line, ','), "\n");
	CHECK(mace_record_parse(line, MACE_FORMAT_CSV, &p, back, sizeof(back)) == -EINVAL);
}

/* A UDP record with different ports: both writers keep sport before dport. */
TEST(exact_text_ports_in_order)
{
	struct mace_record r = sample();
	char line[512];

	r.proto = 17;
	r.sport = 40000;
	r.dport = 53;
	r.seq = 0;
	mace_record_format(&r, "inner-dev", MACE_FORMAT_CSV, line, sizeof(line));
	CHECK_STR(line, "123456789012,4026532001,egress,inner-dev,25300,1000;-;24300,udp,"
			"10.0.0.2,192.168.1.1,4242,40000,53,0,84,1,3\n");
	mace_record_format(&r, "inner-dev", MACE_FORMAT_JSON, line, sizeof(line));
	CHECK_STR(line, "{\"ts_ns\":123456789012,\"netns\":4026532001,\"dir\":\"egress\","
			"\"path\":\"inner-dev\",\"latency_ns\":25300,"
			"\"segments\":[1000,null,24300],\"proto\":\"udp\",\"src\":\"10.0.0.2\","
			"\"dst\":\"192.168.1.1\",\"id\":4242,\"sport\":40000,\"dport\":53,\"seq\":0,"
			"\"len\":84,\"cpu_start\":1,\"cpu_end\":3}\n");
}

TEST(round_trips)
{
	struct mace_record r = sample();

	round_trip(&r, "inner-dev", MACE_FORMAT_CSV);
	round_trip(&r, "inner-dev", MACE_FORMAT_JSON);
	/* ingress, IPv6, udp, no segments unknown, max values */
	r.dir = MACE_INGRESS;
	r.family = AF_INET6;
	memset(r.src, 0, 16);
	memset(r.dst, 0, 16);
	inet_pton(AF_INET6, "fd00::1", r.src);
	inet_pton(AF_INET6, "2001:db8::ff", r.dst);
	r.proto = 17;
	r.sport = 65535;
	r.dport = 53;
	r.ts_ns = UINT64_MAX;
	r.latency_ns = UINT64_MAX - 1;
	r.seq = UINT32_MAX;
	r.nseg = MACE_MAX_SEGMENTS;
	for (int i = 0; i < MACE_MAX_SEGMENTS; i++)
		r.seg_ns[i] = i * 1000;
	round_trip(&r, "a,b \"quoted\"", MACE_FORMAT_CSV);
	round_trip(&r, "a,b \"quoted\"\t\x01", MACE_FORMAT_JSON);
	/* unknown family: empty addresses; odd protocol as a number */
	memset(r.src, 0, 16);
	memset(r.dst, 0, 16);
	r.family = 0;
	r.proto = 132;
	r.nseg = 0;
	for (int i = 0; i < MACE_MAX_SEGMENTS; i++)
		r.seg_ns[i] = MACE_SEG_UNKNOWN;
	round_trip(&r, "", MACE_FORMAT_CSV);
	round_trip(&r, "", MACE_FORMAT_JSON);
	r.nseg = 1;
	r.seg_ns[0] = MACE_SEG_UNKNOWN;
	round_trip(&r, "x", MACE_FORMAT_CSV);
	round_trip(&r, "x", MACE_FORMAT_JSON);
	r.proto = 58;
	round_trip(&r, "x", MACE_FORMAT_JSON);
}

TEST(snprintf_semantics)
{
	struct mace_record r = sample();
	char full[512], small[16];
	int n = mace_record_format(&r, "inner-dev", MACE_FORMAT_JSON, full, sizeof(full));

	CHECK_EQ_U64(mace_record_format(&r, "inner-dev", MACE_FORMAT_JSON, small, sizeof(small)),
		     n);
	CHECK(!strncmp(small, full, sizeof(small) - 1) && small[sizeof(small) - 1] == '\0');
	CHECK_EQ_U64(mace_record_format(&r, "inner-dev", MACE_FORMAT_CSV, NULL, 0),
		     mace_record_format(&r, "inner-dev", MACE_FORMAT_CSV, full, sizeof(full)));
	r.dir = 7;
	CHECK(mace_record_format(&r, "x", MACE_FORMAT_CSV, full, sizeof(full)) == -EINVAL);
	r = sample();
	r.nseg = MACE_MAX_SEGMENTS + 1;
	CHECK(mace_record_format(&r, "x", MACE_FORMAT_JSON, full, sizeof(full)) == -EINVAL);
}

TEST(rejects_malformed)
{
	static const char *const csv[] = {
		"",
		"\n",
		"ts_ns,netns,dir,path,latency_ns,segments,proto,src,dst,id,sport,dport,seq,len,"
		"cpu_start,cpu_end\n",
		"1,2,egress,p,3,,icmp,,,0,0,0,0,0,0\n",			/* 15 fields */
		"1,2,egress,p,3,,icmp,,,0,0,0,0,0,0,0,0\n",		/* 17 fields */
		"1,2,sideways,p,3,,icmp,,,0,0,0,0,0,0,0\n",
		"-1,2,egress,p,3,,icmp,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,,icmp,,,65536,0,0,0,0,0,0\n",		/* id > u16 */
		"1,4294967296,egress,p,3,,icmp,,,0,0,0,0,0,0,0\n",	/* netns > u32 */
		"18446744073709551616,2,egress,p,3,,icmp,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,1;;2,icmp,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,1;2;3;4;5;6;7;8,icmp,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,,ipx,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,,256,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,,icmp,10.0.0.300,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,,icmp,10.0.0.1,fd00::1,0,0,0,0,0,0,0\n",	/* mixed families */
		"1,2,egress,\"p,3,,icmp,,,0,0,0,0,0,0,0\n",		/* open quote */
		"1,2,egress,p\"q,3,,icmp,,,0,0,0,0,0,0,0\n",
		"1,2,egress,p,3,,icmp,,,0,0,0,0,0,0,0\nextra",
		"1,2,egress,p,3 ,,icmp,,,0,0,0,0,0,0,0\n",
	};
	static const char *const json[] = {
		"",
		"{}",
		"[]",
		"{\"ts_ns\":1}",
		"{\"ts_ns\":1,\"netns\":2,\"dir\":\"egress\",\"path\":\"p\",\"latency_ns\":3,"
		"\"segments\":[],\"proto\":\"icmp\",\"src\":\"\",\"dst\":\"\",\"id\":0,\"sport\":0,"
		"\"dport\":0,\"seq\":0,\"len\":0,\"cpu_start\":0}",		/* cpu_end missing */
		"{\"ts_ns\":1,\"ts_ns\":1,\"netns\":2,\"dir\":\"egress\",\"path\":\"p\","
		"\"latency_ns\":3,\"segments\":[],\"proto\":\"icmp\",\"src\":\"\",\"dst\":\"\","
		"\"id\":0,\"sport\":0,\"dport\":0,\"seq\":0,\"len\":0,\"cpu_start\":0,\"cpu_end\":0}",
		"{\"ts_ns\":\"1\",\"netns\":2,\"dir\":\"egress\",\"path\":\"p\",\"latency_ns\":3,"
		"\"segments\":[],\"proto\":\"icmp\",\"src\":\"\",\"dst\":\"\",\"id\":0,\"sport\":0,"
		"\"dport\":0,\"seq\":0,\"len\":0,\"cpu_start\":0,\"cpu_end\":0}",	/* string number */
		"{\"ts_ns\":1,\"netns\":2,\"dir\":\"egress\",\"path\":\"p\",\"latency_ns\":3,"
		"\"segments\":[1,],\"proto\":\"icmp\",\"src\":\"\",\"dst\":\"\",\"id\":0,\"sport\":0,"
		"\"dport\":0,\"seq\":0,\"len\":0,\"cpu_start\":0,\"cpu_end\":0}",
		"{\"ts_ns\":1,\"netns\":2,\"dir\":\"egress\",\"path\":\"p\\u0000\",\"latency_ns\":3,"
		"\"segments\":[],\"proto\":\"icmp\",\"src\":\"\",\"dst\":\"\",\"id\":0,\"sport\":0,"
		"\"dport\":0,\"seq\":0,\"len\":0,\"cpu_start\":0,\"cpu_end\":0}",
		"{\"ts_ns\":1,\"netns\":2,\"dir\":\"egress\",\"path\":\"p\",\"latency_ns\":3,"
		"\"segments\":[],\"proto\":\"icmp\",\"src\":\"\",\"dst\":\"\",\"id\":0,\"sport\":0,"
		"\"dport\":0,\"seq\":0,\"len\":0,\"cpu_start\":0,\"cpu_end\":0} x",	/* trailing */
		"{\"ts_ns\":1,\"netns\":2,\"dir\":\"egress\",\"path\":\"p,\"latency_ns\":3",
	};
	struct mace_record r = { .sz = sizeof(r) };
	char name[8];

	for (size_t i = 0; i < sizeof(csv) / sizeof(csv[0]); i++)
		if (mace_record_parse(csv[i], MACE_FORMAT_CSV, &r, name, sizeof(name)) != -EINVAL)
			CHECK(!csv[i]);
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++)
		if (mace_record_parse(json[i], MACE_FORMAT_JSON, &r, name, sizeof(name)) != -EINVAL)
			CHECK(!json[i]);
	CHECK(mace_record_parse(NULL, MACE_FORMAT_CSV, &r, name, sizeof(name)) == -EINVAL);
	CHECK(mace_record_parse("x", 9, &r, name, sizeof(name)) == -EINVAL);
}

TEST(accepts_valid_variants)
{
	struct mace_record r = { .sz = sizeof(r) };
	char name[4];

	/* whitespace, key order, unknown keys, a long path truncated into name */
	CHECK_EQ_U64(mace_record_parse(
		" { \"cpu_end\" : 2 , \"ts_ns\":1,\"netns\":2,\"dir\":\"ingress\",\"path\":\"longname\","
		"\"latency_ns\":3,\"segments\":[ 3 , null ],\"proto\":6,\"src\":\"1.2.3.4\","
		"\"dst\":\"5.6.7.8\",\"id\":0,\"sport\":1,\"dport\":2,\"seq\":9,\"len\":60,"
		"\"cpu_start\":0,\"realtime_ns\":5}\r\n",
		MACE_FORMAT_JSON, &r, name, sizeof(name)), 0);
	CHECK_STR(name, "lon");
	CHECK_EQ_U64(r.dir, MACE_INGRESS);
	CHECK_EQ_U64(r.proto, 6);
	CHECK_EQ_U64(r.nseg, 2);
	CHECK_EQ_U64(r.seg_ns[1], MACE_SEG_UNKNOWN);
	CHECK_EQ_U64(r.family, AF_INET);
	CHECK_EQ_U64(r.cpu_end, 2);
	/* CSV with CRLF and no trailing newline */
	CHECK_EQ_U64(mace_record_parse("1,2,egress,p,3,-,tcp,,,0,0,0,0,0,0,0\r\n",
				       MACE_FORMAT_CSV, &r, NULL, 0), 0);
	CHECK_EQ_U64(r.proto, 6);
	CHECK_EQ_U64(r.nseg, 1);
	CHECK_EQ_U64(mace_record_parse("1,2,egress,p,3,,17,,,0,0,0,0,0,0,0", MACE_FORMAT_CSV, &r,
				       NULL, 0), 0);
	CHECK_EQ_U64(r.proto, 17);
}

/* Mutated lines never crash and never parse into garbage silently. */
TEST(mutations_do_not_crash)
{
	struct mace_record r = sample(), p = { .sz = sizeof(p) };
	char line[512], name[64];
	unsigned int seed = 7;

	for (int f = 0; f < 2; f++) {
		int n = mace_record_format(&r, "inner-dev", f, line, sizeof(line));

		for (int i = 0; i < 20000; i++) {
			char m[512];

			memcpy(m, line, n + 1);
			for (int j = 0; j < 3; j++)
				m[rand_r(&seed) % n] = " ,;:\"{}[]-0123456789abn\\"[rand_r(&seed) % 25];
			if (!mace_record_parse(m, f, &p, name, sizeof(name))) {
				char again[512];

				/* whatever parsed must format to something that parses the same */
				mace_record_format(&p, name, f, again, sizeof(again));
				struct mace_record q = { .sz = sizeof(q) };

				CHECK_EQ_U64(mace_record_parse(again, f, &q, name, sizeof(name)), 0);
				CHECK(!memcmp(&p, &q, sizeof(p)));
			}
		}
	}
}

int main(void)
{
	RUN(csv_exact_text);
	RUN(json_exact_text);
	RUN(exact_text_ports_in_order);
	RUN(round_trips);
	RUN(snprintf_semantics);
	RUN(container_columns);
	RUN(rejects_malformed);
	RUN(accepts_valid_variants);
	RUN(mutations_do_not_crash);
	return t_done();
}
