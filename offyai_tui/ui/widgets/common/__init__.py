"""ui/widgets/common"""
