// SPDX-License-Identifier: GPL-2.0
/*
 * liota_edge_src: test-only edge source of the guest benchmark
 * (tests/vm/guest/gpiots-bench.test). It raises the interrupt of one GPIO
 * line N times, one every PERIOD ns, from the kernel, and keeps the moment
 * it raised each: gpio-sim's pulls toggled from userspace reach about
 * 30k edges/s under TCG, and irq_sim merges fires its irq_work has not run.
 *
 * debugfs liota_edge_src/fire: write "LABEL OFFSET N PERIOD_NS" (the chip's
 * label); returns once all are raised. liota_edge_src/times: N u64, the
 * CLOCK_MONOTONIC ns each interrupt was raised at, for the readers to
 * compare their time stamps with.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/gpio.h>
#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#define SRC_MAX 200000

static DEFINE_MUTEX(src_lock);
static u64 *src_times;
static struct debugfs_blob_wrapper src_blob;
static struct dentry *src_dir;

struct src_lookup {
	const char *label;
	u32 offset;
	int gpio;
};

static int src_match(struct gpio_chip *gc, void *data)
{
	struct src_lookup *lk = data;

	if (!gc->label || strcmp(gc->label, lk->label))
		return 0;
	lk->gpio = lk->offset < gc->ngpio ? gc->base + lk->offset : -EINVAL;
	return 1;
}

static ssize_t src_fire(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	struct src_lookup lk = { .gpio = -ENODEV };
	char buf[96], label[33];
	unsigned long flags;
	u64 period, t0, i;
	u32 offset, n;
	int irq;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%32s %u %u %llu", label, &offset, &n, &period) != 4 || !n || n > SRC_MAX ||
	    period > NSEC_PER_SEC)
		return -EINVAL;
	lk.label = label;
	lk.offset = offset;
	gpiochip_find(&lk, src_match);
	if (lk.gpio < 0)
		return lk.gpio;
	irq = gpiod_to_irq(gpio_to_desc(lk.gpio));
	if (irq <= 0)
		return irq ? irq : -ENXIO;

	mutex_lock(&src_lock);
	src_blob.size = 0;
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		/*
		 * A CPU that hardware interrupts would run threads between
		 * them: let gpiolib's IRQ thread (and the readers) run here.
		 */
		cond_resched();
		while (ktime_get_ns() < t0 + i * period)
			cpu_relax();
		/* As an interrupt controller would: with interrupts off. */
		local_irq_save(flags);
		src_times[i] = ktime_get_ns();
		generic_handle_irq(irq);
		local_irq_restore(flags);
	}
	src_blob.size = (size_t)n * sizeof(u64);
	mutex_unlock(&src_lock);
	return len;
}

static const struct file_operations src_fire_fops = {
	.owner = THIS_MODULE,
	.write = src_fire,
	.llseek = no_llseek,
};

static int __init src_init(void)
{
	src_times = vzalloc(SRC_MAX * sizeof(u64));
	if (!src_times)
		return -ENOMEM;
	src_blob.data = src_times;
	src_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("fire", 0200, src_dir, NULL, &src_fire_fops);
	debugfs_create_blob("times", 0400, src_dir, &src_blob);
	return 0;
}

static void __exit src_exit(void)
{
	debugfs_remove_recursive(src_dir);
	vfree(src_times);
}

module_init(src_init);
module_exit(src_exit);
MODULE_DESCRIPTION("Test-only: raise a GPIO line's interrupt N times at a set period");
MODULE_LICENSE("GPL");
